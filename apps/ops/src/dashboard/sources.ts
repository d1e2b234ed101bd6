// Each thing the dashboard reads is a Source: fetched on its own, at most one request in flight,
// its last good value kept with the time it was read. A paused or killed service therefore never
// stalls the page: its source goes stale and its panel says so, while the others stay live.

export interface SourceView<T> {
  name: string;
  /** The latest attempt answered and the value is recent. */
  ok: boolean;
  /** Why not, when not ok. */
  error: string | null;
  /** The last good value (possibly old: see `asOf`). */
  value: T | null;
  /** When `value` was read (ISO), null if never. */
  asOf: string | null;
  /** Round trip of the last successful read, ms. */
  ms: number | null;
}

export class Source<T> {
  private last: { value: T; at: number; ms: number } | null = null;
  private lastError: { error: string; at: number } | null = null;
  private inFlight: Promise<void> | null = null;
  private startedAt = 0;

  constructor(
    readonly name: string,
    private readonly read: (signal: AbortSignal) => Promise<T>,
    private readonly timeoutMs: number,
  ) {}

  /** Starts a read unless one is running; resolves when that read ends. */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    this.startedAt = Date.now();
    const p = this.read(AbortSignal.timeout(this.timeoutMs))
      .then((value) => {
        this.last = { value, at: Date.now(), ms: Date.now() - this.startedAt };
        this.lastError = null;
      })
      .catch((e: unknown) => {
        this.lastError = { error: describeError(e, this.timeoutMs), at: Date.now() };
      })
      .finally(() => {
        this.inFlight = null;
      });
    this.inFlight = p;
    return p;
  }

  view(now: number, staleAfterMs: number): SourceView<T> {
    const base = {
      name: this.name,
      value: this.last?.value ?? null,
      asOf: this.last ? new Date(this.last.at).toISOString() : null,
      ms: this.last?.ms ?? null,
    };
    if (this.lastError) return { ...base, ok: false, error: this.lastError.error };
    if (!this.last) return { ...base, ok: false, error: this.inFlight ? "no answer yet" : "never read" };
    const age = now - this.last.at;
    if (age > staleAfterMs) {
      return { ...base, ok: false, error: `no answer for ${Math.round(age / 1000)} s` };
    }
    return { ...base, ok: true, error: null };
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ""}`);
  }
}

function describeError(e: unknown, timeoutMs: number): string {
  if (e instanceof HttpError) return e.message;
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") return `timeout after ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection reset";
  if (code) return code;
  // undici's "fetch failed" says nothing; its cause does.
  return err?.cause?.message ?? err?.message ?? String(e);
}

async function checked(res: Response): Promise<Response> {
  if (res.ok) return res;
  let code: string | null = null;
  try {
    code = ((await res.json()) as { code?: string }).code ?? null;
  } catch {
    // not a problem document
  }
  throw new HttpError(res.status, code);
}

export async function getJson<T>(url: string, signal: AbortSignal, token?: string): Promise<T> {
  const res = await fetch(url, {
    signal,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return (await (await checked(res)).json()) as T;
}

export async function getText(url: string, signal: AbortSignal, token?: string): Promise<string> {
  const res = await fetch(url, {
    signal,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return (await checked(res)).text();
}
