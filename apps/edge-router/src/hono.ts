import type { EdgeBindings } from "./env.js";

export type EdgeHono = {
  Bindings: EdgeBindings;
  Variables: { correlationId: string; edgeRegion: string; requestId: string };
};
