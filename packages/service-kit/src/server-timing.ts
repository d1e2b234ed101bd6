import { AsyncLocalStorage } from "node:async_hooks";

// Server-Timing for the latency report (issue 9): each request's time in the service and, of
// that, in its database. The database part is recorded where the SQL is issued (recordDbTime),
// carried per request by AsyncLocalStorage so no signature has to pass it along.

interface RequestTiming {
  dbMs: number;
}

const current = new AsyncLocalStorage<RequestTiming>();

export function withRequestTiming<T>(f: () => Promise<T>): { timing: RequestTiming; done: Promise<T> } {
  const timing: RequestTiming = { dbMs: 0 };
  return { timing, done: current.run(timing, f) };
}

/** Adds database time to the request being served (no-op outside a request). */
export function recordDbTime(ms: number): void {
  const t = current.getStore();
  if (t) t.dbMs += ms;
}

/** Times `f` as database work of the current request. */
export async function timeDb<T>(f: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await f();
  } finally {
    recordDbTime(performance.now() - started);
  }
}

export function serverTimingHeader(appMs: number, t: RequestTiming): string {
  const parts = [`app;dur=${appMs.toFixed(2)}`];
  if (t.dbMs > 0) parts.push(`db;dur=${t.dbMs.toFixed(2)}`);
  return parts.join(", ");
}
