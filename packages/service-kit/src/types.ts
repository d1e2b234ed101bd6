import type { Principal } from "./auth.js";

/** Hono variables every Node service sets (request and correlation ids, the caller). */
export type ServiceHono = {
  Variables: {
    requestId: string;
    correlationId: string;
    principal: Principal;
    problemCode: string;
    replayed: boolean;
  };
};
