import { connect, createServer, type Server, type Socket } from "node:net";

// A small TCP fault proxy (the kernel here has no tc netem): it forwards bytes, or refuses new
// connections and cuts live ones (partition), or stops forwarding while holding sockets open
// (pause: a peer that is there but silent), and can add a fixed delay per connection setup.

export type ProxyMode = "pass" | "partition" | "pause";

export class TcpFaultProxy {
  mode: ProxyMode = "pass";
  connectDelayMs = 0;
  private server: Server | null = null;
  private readonly live = new Set<Socket>();
  private readonly paused: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly listenPort: number,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.listenPort, "127.0.0.1", () => resolve());
    });
  }

  private accept(client: Socket): void {
    if (this.mode === "partition") {
      client.destroy();
      return;
    }
    const open = () => {
      const upstream = connect(this.targetPort, this.targetHost);
      this.track(client);
      this.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    };
    const go = () => (this.connectDelayMs > 0 ? setTimeout(open, this.connectDelayMs) : open());
    if (this.mode === "pause") this.paused.push(go);
    else go();
  }

  private track(s: Socket): void {
    this.live.add(s);
    s.on("close", () => this.live.delete(s));
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode === "partition") for (const s of this.live) s.destroy();
    if (mode === "pause") for (const s of this.live) s.pause();
    if (mode === "pass") {
      for (const s of this.live) s.resume();
      for (const go of this.paused.splice(0)) go();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.live) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
