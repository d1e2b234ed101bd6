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

export function createLogger(level: "info" | "silent"): Logger {
  if (level === "silent") return { request() {}, error() {}, info() {} };
  const write = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
  return {
    request: (line) => write({ t: new Date().toISOString(), msg: "request", ...line }),
    error: (msg, fields) => write({ t: new Date().toISOString(), level: "error", msg, ...fields }),
    info: (msg, fields) => write({ t: new Date().toISOString(), level: "info", msg, ...fields }),
  };
}
