// Variant (d) of bench/edge.ts: the local floor for any edge. A Worker that only forwards the
// request, as it came (method, headers, streamed body), to the cell and returns the cell's
// response untouched: no routing, no auth, no validation, no header rewriting.

interface Env {
  CELL_URL: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    return fetch(new Request(env.CELL_URL + url.pathname + url.search, request));
  },
};
