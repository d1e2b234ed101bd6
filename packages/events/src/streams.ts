import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  AckPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";

// Streams are declared in infra/nats/streams.json and created idempotently by whoever starts
// first (relay or projector). One stream per region keeps a tenant's events in its home region.

interface StreamsFile {
  stream: {
    name: string;
    subjects: string[];
    storage: "file" | "memory";
    discard: "new" | "old";
    maxAgeSeconds: number;
    maxBytes: number;
    duplicateWindowSeconds: number;
    replicas: number;
  };
  /** Same limits as `stream`; its own name and subjects. */
  auditStream: { name: string; subjects: string[] };
  consumers: { projector: { durableName: string; ackWaitSeconds: number; maxAckPending: number } };
}

const file = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../../infra/nats/streams.json", import.meta.url)), "utf8"),
) as StreamsFile;

const fill = (t: string, root: string, region: string) =>
  t
    .replace("{ROOT}", root.toUpperCase().replace(/\W/g, "_"))
    .replace("{REGION}", region.toUpperCase().replace(/\W/g, "_"))
    .replace("{root}", root)
    .replace("{region}", region);

export const streamName = (root: string, region: string) => fill(file.stream.name, root, region);
export const eventSubjectFor = (root: string, region: string, tenantId: string, aggregateType: string) =>
  `${root}.events.${region}.${tenantId}.${aggregateType}`;
/** One audit link of a tenant's chain homed in `region` (the protected audit replica). */
export const auditSubjectFor = (root: string, region: string, tenantId: string) =>
  `${root}.audit.${region}.${tenantId}`;
export const auditStreamName = (root: string, region: string) => fill(file.auditStream.name, root, region);
export const heartbeatSubject = (root: string, region: string) => `${root}.heartbeat.${region}`;

export function streamConfig(
  root: string,
  region: string,
): Partial<StreamConfig> & { name: string; subjects: string[] } {
  const s = file.stream;
  return {
    name: streamName(root, region),
    subjects: s.subjects.map((x) => fill(x, root, region)),
    storage: s.storage === "file" ? StorageType.File : StorageType.Memory,
    retention: RetentionPolicy.Limits,
    discard: s.discard === "new" ? DiscardPolicy.New : DiscardPolicy.Old,
    max_age: s.maxAgeSeconds * 1e9,
    max_bytes: s.maxBytes,
    duplicate_window: s.duplicateWindowSeconds * 1e9,
    num_replicas: s.replicas,
  };
}

/** The region's audit stream: the event stream's limits, the audit names and subjects. */
export function auditStreamConfig(root: string, region: string): ReturnType<typeof streamConfig> {
  return {
    ...streamConfig(root, region),
    name: auditStreamName(root, region),
    subjects: file.auditStream.subjects.map((x) => fill(x, root, region)),
  };
}

/** Creates the region's stream, or updates it to the declared config; safe to run concurrently. */
export async function ensureStream(jsm: JetStreamManager, root: string, region: string): Promise<string> {
  return ensureStreamConfig(jsm, streamConfig(root, region));
}

/** Creates the region's audit stream (see auditStreamConfig), idempotently. */
export async function ensureAuditStream(
  jsm: JetStreamManager,
  root: string,
  region: string,
): Promise<string> {
  return ensureStreamConfig(jsm, auditStreamConfig(root, region));
}

async function ensureStreamConfig(
  jsm: JetStreamManager,
  cfg: ReturnType<typeof streamConfig>,
): Promise<string> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch {
    try {
      await jsm.streams.add(cfg);
    } catch (e) {
      // Another process created it between our check and our add.
      await jsm.streams.info(cfg.name).catch(() => {
        throw e;
      });
    }
  }
  return cfg.name;
}

export async function ensureProjectorConsumer(
  jsm: JetStreamManager,
  stream: string,
  durableName: string,
): Promise<void> {
  const c = file.consumers.projector;
  const cfg = {
    durable_name: durableName,
    ack_policy: AckPolicy.Explicit,
    ack_wait: c.ackWaitSeconds * 1e9,
    max_ack_pending: c.maxAckPending,
  };
  try {
    await jsm.consumers.info(stream, durableName);
  } catch {
    await jsm.consumers.add(stream, cfg).catch(async (e) => {
      await jsm.consumers.info(stream, durableName).catch(() => {
        throw e;
      });
    });
  }
}

export const projectorDurable = file.consumers.projector.durableName;
