import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";

// Supporting experiment for bench/RESULTS.md (not part of `pnpm bench`): what one layer of the
// cell's HTTP stack costs on a POST with a small JSON body, loopback, c=1, no database.
//   npx tsx bench/body-limit.ts
// Same Hono and @hono/node-server versions as the cell (resolved from apps/cell).

const req = createRequire(new URL("../apps/cell/package.json", import.meta.url));
const load = (id: string) => import(pathToFileURL(req.resolve(id)).href);
const { Hono } = await load("hono");
const { bodyLimit } = await load("hono/body-limit");
const { serve } = await load("@hono/node-server");

const responseBody = {
  caseId: "0193a7c2-0000-7000-8000-000000000000",
  tenantId: "0193a7c2-0000-7000-8000-000000000001",
  caseNumber: "IDN-2026-00000001",
  homeRegion: "ap-id",
  regionEpoch: 1,
  status: "UNDER_REVIEW",
  category: "market_abuse",
  countryCode: "ID",
  summary: "Suspicious trades before an announcement",
  version: 12,
  createdAt: "2026-11-26T06:00:00.000Z",
  updatedAt: "2026-11-26T06:00:00.000Z",
};
const responseText = JSON.stringify(responseBody);

const app = new Hono();
app.post("/no-body-read", (c: any) => c.json(responseBody));
app.post("/read-body", async (c: any) => {
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
// What the service-kit does for every route: hono/body-limit in front of the handler.
const limited = new Hono();
limited.use(bodyLimit({ maxSize: 1024 * 1024 }));
limited.post("/body-limit-then-read", async (c: any) => {
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
// A handler that reads one request header (the cell reads several: authorization, keys, ids).
app.post("/header-then-read", async (c: any) => {
  c.req.header("authorization");
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
// The same shape with a middleware that does nothing.
const noop = new Hono();
noop.use((_c: any, next: () => Promise<void>) => next());
noop.post("/noop-middleware-then-read", async (c: any) => {
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
// Like service-kit's createHono: response headers set on c.res after next().
const after = new Hono();
after.use(async (c: any, next: () => Promise<void>) => {
  await next();
  c.res.headers.set("x-request-id", "0193a7c2-0000-7000-8000-000000000003");
});
after.post("/headers-after-next-then-read", async (c: any) => {
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
// The same headers set with c.header() before next(): they go into c.json()'s response.
const before = new Hono();
before.use((c: any, next: () => Promise<void>) => {
  c.header("x-request-id", "0193a7c2-0000-7000-8000-000000000003");
  return next();
});
before.post("/headers-before-next-then-read", async (c: any) => {
  JSON.parse(await c.req.text());
  return c.json(responseBody);
});
app.route("/", limited);
app.route("/", noop);
app.route("/", after);
app.route("/", before);

const server: http.Server = await new Promise((resolve) => {
  const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
});
const bare = http.createServer((rq, rs) => {
  const chunks: Buffer[] = [];
  rq.on("data", (d: Buffer) => chunks.push(d));
  rq.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"));
    rs.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(responseText),
    });
    rs.end(responseText);
  });
});
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));

const port = (server.address() as AddressInfo).port;
const targets: Record<string, string> = {
  "bare node:http": `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`,
  "hono, body not read": `http://127.0.0.1:${port}/no-body-read`,
  "hono, c.req.text()": `http://127.0.0.1:${port}/read-body`,
  "hono, no-op middleware + c.req.text()": `http://127.0.0.1:${port}/noop-middleware-then-read`,
  "hono/body-limit + c.req.text()": `http://127.0.0.1:${port}/body-limit-then-read`,
  "c.res.headers.set() after next() + c.req.text()": `http://127.0.0.1:${port}/headers-after-next-then-read`,
  "c.header() before next() + c.req.text()": `http://127.0.0.1:${port}/headers-before-next-then-read`,
  "hono, c.req.header() + c.req.text()": `http://127.0.0.1:${port}/header-then-read`,
};
const body = JSON.stringify({ to: "UNDER_REVIEW", expectedVersion: 11, reason: "bench: periodic review" });
const headers = {
  authorization: `Bearer ${"x".repeat(220)}`,
  "content-type": "application/json",
  "idempotency-key": "0193a7c2-0000-7000-8000-000000000002",
};

async function run(url: string, ms: number) {
  const lat: number[] = [];
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  while (performance.now() < end) {
    const t = performance.now();
    const r = await fetch(url, { method: "POST", headers, body });
    await r.json();
    lat.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  lat.sort((x, y) => x - y);
  return { p50: lat[Math.floor(lat.length / 2)]!, cpu: (cpu.user + cpu.system) / lat.length };
}

for (const url of Object.values(targets)) await run(url, 300); // warm-up
const results = new Map<string, { p50: number; cpu: number }[]>();
for (let round = 0; round < 3; round++) {
  for (const [name, url] of Object.entries(targets)) {
    const r = await run(url, 1500);
    results.set(name, [...(results.get(name) ?? []), r]);
  }
}
console.log(
  "| layer (client and server in one process, c=1) | p50 ms (3 rounds) | CPU µs/request (3 rounds) |",
);
console.log("|---|---|---|");
for (const [name, rs] of results) {
  console.log(
    `| ${name} | ${rs.map((r) => r.p50.toFixed(3)).join(" / ")} | ${rs.map((r) => r.cpu.toFixed(0)).join(" / ")} |`,
  );
}
server.close();
bare.close();
process.exit(0);
