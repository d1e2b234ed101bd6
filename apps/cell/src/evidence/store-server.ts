import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createObjectStore } from "./object-store.js";

/**
 * A region's evidence object store as its own process (what an R2 bucket is in production):
 * PUT/GET/DELETE /objects/<key> over a directory, behind a bearer token. The simulation runs one
 * per region behind a fault proxy; tests stop it to take the store down.
 */
export async function startObjectStoreServer(o: {
  dir: string;
  region: string;
  token: string;
  port?: number;
  host?: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const store = createObjectStore(o.dir, o.region);
  const server = createServer(async (req, res) => {
    const done = (status: number, body?: Uint8Array | string) => {
      res.writeHead(status, {
        "content-type": body instanceof Uint8Array ? "application/octet-stream" : "text/plain",
      });
      res.end(body);
    };
    try {
      // Open like every service's /healthz, so a supervisor can wait for it without the token.
      if (req.url === "/healthz") return done(200, "ok");
      if (req.headers.authorization !== `Bearer ${o.token}`) return done(401, "unauthorized");
      const m = /^\/objects\/([0-9a-f-]{36}\/[0-9a-f-]{36}\/[0-9a-f-]{36})$/.exec(req.url ?? "");
      if (!m) return done(404, "no such object");
      const key = m[1]!;
      if (req.method === "PUT") {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        await store.put(key, Buffer.concat(chunks));
        return done(204);
      }
      if (req.method === "GET") {
        const bytes = await store.get(key);
        return bytes ? done(200, bytes) : done(404, "no such object");
      }
      if (req.method === "DELETE") {
        await store.remove(key);
        return done(204);
      }
      return done(405, "method not allowed");
    } catch {
      return done(500, "store error");
    }
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, o.host ?? "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
