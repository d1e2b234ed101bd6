// A plain status page until the ops dashboard arrives (observability issue): what runs, where,
// which faults are active. Refreshes itself every two seconds.
export function dashboardHtml(status: unknown): string {
  const json = JSON.stringify(status, null, 2).replace(/</g, "\\u003c");
  return `<!doctype html><html><head><meta charset="utf-8"><title>homeroute simulation</title>
<meta http-equiv="refresh" content="2"><style>body{font:14px system-ui;margin:2rem}pre{background:#f4f4f4;padding:1rem}</style>
</head><body><h1>homeroute — local planet</h1><pre>${json}</pre></body></html>`;
}
