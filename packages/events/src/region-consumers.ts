import {
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "./connect.js";
import { ensureProjectorConsumer, ensureStream } from "./streams.js";

// One durable consumer per source region's event stream, for every service that builds a view
// from the streams (the projector's read model, the warehouse). Both want the same things: NATS
// being down at start is a state to wait out, not a crash; each message is acked only once its
// effect is committed; a failed one comes back after a pause (at-least-once, exactly-once effect
// by the consumer's own idempotence); stopping never hangs on a pull in flight.

/** What became of one message: taken (ack), or to be delivered again after `retryInMs`. */
export type Delivery = "ack" | { retryInMs: number };

export interface ConsumerLog {
  error(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}

export interface RegionConsumerOptions {
  natsUrl: string;
  /** The NATS connection's name, and the prefix of its log lines. */
  client: string;
  root: string;
  regions: readonly string[];
  durable: string;
  log: ConsumerLog;
  /** A message whose handling threw (its database away, say) comes back after this long. */
  failedRetryMs?: number;
  /** Runs on each connection before the streams are consumed (the projector's standby forwarder). */
  onConnected?: (jsm: JetStreamManager, js: JetStreamClient) => Promise<void>;
  handle(region: string, m: JsMsg): Promise<Delivery>;
}

export class RegionConsumers {
  private nc: NatsConnection | null = null;
  private readonly consuming: ConsumerMessages[] = [];
  private running = true;
  private connecting: Promise<void> | null = null;

  constructor(private readonly o: RegionConsumerOptions) {}

  /** The live connection, or null while NATS is away. */
  get connection(): NatsConnection | null {
    return this.nc;
  }

  /** Connects in the background, retrying each second until NATS answers or stop() is called. */
  start(): void {
    this.connecting = this.connect();
  }

  private async connect(): Promise<void> {
    while (this.running) {
      try {
        this.nc = await connectNats(this.o.natsUrl, this.o.client);
        const jsm = await jetstreamManager(this.nc);
        const js = jetstream(this.nc);
        await this.o.onConnected?.(jsm, js);
        for (const region of this.o.regions) {
          const stream = await ensureStream(jsm, this.o.root, region);
          await ensureProjectorConsumer(jsm, stream, this.o.durable);
          const messages = await (await js.consumers.get(stream, this.o.durable)).consume({
            max_messages: 500,
          });
          this.consuming.push(messages);
          void this.run(region, messages);
        }
        return;
      } catch (e) {
        this.o.log.error(`${this.o.client}: NATS not ready, retrying`, { error: (e as Error).message });
        await this.nc?.close().catch(() => {});
        this.nc = null;
        if (this.running) await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async run(region: string, messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (!this.running) {
          // Pulled but stopping: back to the stream at once for the next consumer, rather than
          // after ack_wait (30 s), which held a restarted projector's catch-up behind them.
          m.nak();
          continue;
        }
        try {
          const d = await this.o.handle(region, m);
          if (d === "ack") m.ack();
          else m.nak(d.retryInMs);
        } catch (e) {
          this.o.log.error(`${this.o.client}: handling failed; will be redelivered`, {
            region,
            error: (e as Error).message,
          });
          m.nak(this.o.failedRetryMs ?? 1000);
        }
      }
    } catch (e) {
      // The connection closed under the iterator (shutdown, or NATS gone): nothing is lost, the
      // durable consumer resumes where it stopped when the service consumes again.
      this.o.log.info(`${this.o.client}: consumer stopped`, { region, reason: (e as Error).message });
    }
  }

  /** Stops taking messages; `beforeClose` runs while the connection is still up (a last flush). */
  async stop(beforeClose?: () => Promise<void>): Promise<void> {
    this.running = false;
    for (const c of this.consuming) c.stop();
    await Promise.race([this.connecting, new Promise((r) => setTimeout(r, 2000))]);
    await beforeClose?.().catch(() => {});
    // Bounded: a drain can wait on a pull request in flight; shutting down must not hang.
    await Promise.race([this.nc?.drain().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    await this.nc?.close().catch(() => {});
  }
}
