import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ProxyMode } from "./tcp-proxy.js";

// An HTTP-aware fault proxy in front of a cell or the catalog. It adds the simulated round trip
// between the caller's region (the edge says which in `x-edge-region`) and the target's region,
// and injects partitions (connections refused) and pauses (requests held, never answered).

export class HttpFaultProxy {
  mode: ProxyMode = "pass";
  latency: ((fromRegion: string) => number) | null = null;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly held: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly listenPort: number,
    private readonly targetPort: number,
    private readonly defaultFromRegion: string,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (s) => {
      if (this.mode === "partition") {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.listenPort, "127.0.0.1", () => resolve());
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const forward = () => {
      const upstream = request(
        { host: "127.0.0.1", port: this.targetPort, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => {
        // The process behind is gone: look like it (connection reset), not like a proxy error page.
        res.socket?.destroy();
      });
      req.pipe(upstream);
    };
    const from = (req.headers["x-edge-region"] as string | undefined) ?? this.defaultFromRegion;
    const delay = this.latency ? this.latency(from) : 0;
    const go = () => (delay > 0 ? setTimeout(forward, delay) : forward());
    if (this.mode === "pause") this.held.push(go);
    else go();
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === "partition") for (const s of this.sockets) s.destroy();
    if (mode === "pass") for (const go of this.held.splice(0)) go();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
