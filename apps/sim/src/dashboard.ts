// GET {simUrl}/dashboard (docs/api.md) predates the ops dashboard; it now sends the browser there
// (topology.json's dashboardUrl). The simulation's own process list stays at GET /sim/status.
export function dashboardHtml(status: { topology: { dashboardUrl: string } }): string {
  const to = status.topology.dashboardUrl.replace(/[&<>"']/g, "");
  return `<!doctype html><html><head><meta charset="utf-8"><title>homeroute simulation</title>
<meta http-equiv="refresh" content="0; url=${to}"></head>
<body>The ops dashboard is at <a href="${to}">${to}</a>; processes and faults: <a href="/sim/status">/sim/status</a>.</body></html>`;
}
