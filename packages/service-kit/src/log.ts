import { redactForGlobalStore } from "@homeroute/contracts";

// One wide, structured JSON line per request (STYLE §9). Never personal fields (summary, names,
// file names): only ids, codes and timings, so lines may leave the region without leaking data.

export interface RequestLogLine {
  region: string;
  service?: string;
  tenantId?: string;
  route: string;
  method: string;
  status: number;
  code?: string;
  latencyMs: number;
  correlationId: string;
  requestId: string;
  replayed?: boolean;
}

export interface Logger {
  request(line: RequestLogLine): void;
  error(msg: string, fields: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Where a process's lines are kept. A cell or relay logs into its own region's store, and a cell
 * only holds tenants whose policy allows its region, so nothing it logs leaves where it may be.
 * The catalog, the projector and the edge serve every tenant and ship to a store outside any one
 * region ("global"): there, by the residency module's log_fields rule, only fields safe anywhere
 * stay, and free text (error messages can quote a row) is scrubbed of quoted values.
 */
export type LogStore = "regional" | "global";

export function createLogger(level: "info" | "silent", store: LogStore = "regional"): Logger {
  if (level === "silent") return { request() {}, error() {}, info() {} };
  const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const write = store === "global" ? (o: Record<string, unknown>) => out(redactForGlobalStore(o)) : out;
  return {
    request: (line) => write({ t: new Date().toISOString(), msg: "request", ...line }),
    error: (msg, fields) => write({ t: new Date().toISOString(), level: "error", msg, ...fields }),
    info: (msg, fields) => write({ t: new Date().toISOString(), level: "info", msg, ...fields }),
  };
}
