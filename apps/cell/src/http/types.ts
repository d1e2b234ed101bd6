import type { Principal } from "./auth.js";

export type CellHono = {
  Variables: {
    requestId: string;
    correlationId: string;
    principal: Principal;
    problemCode: string;
    replayed: boolean;
  };
};
