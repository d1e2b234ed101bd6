import {
  type ProjectorEnv,
  projectorEnvSchema,
  type RunningProjector,
  startProjector,
} from "@homeroute/projector";
import { type RunningRelay, relayEnvSchema, startRelay } from "@homeroute/relay";
import { createTestDatabase, startTestNats, type TestDatabase, type TestNats } from "@homeroute/testkit";
import { INTERNAL_TOKEN, type Planet } from "./planet.js";
import { teardownStep } from "./teardown.js";

/** Relays for every cell of a planet and one projector, on a nats-server of the test's own. */
export interface EventPipeline {
  nats: TestNats;
  relays: Record<string, RunningRelay>;
  projector: RunningProjector;
  projectorDb: TestDatabase;
  root: string;
  stopProjector(): Promise<void>;
  startProjectorAgain(): Promise<void>;
  close(): Promise<void>;
}

export async function startEventPipeline(p: Planet): Promise<EventPipeline> {
  const nats = await startTestNats();
  const root = `t${Math.floor(Math.random() * 1e9).toString(36)}`;
  const relays: Record<string, RunningRelay> = {};
  for (const [region, cell] of Object.entries(p.cells)) {
    relays[region] = await startRelay(
      relayEnvSchema.parse({
        REGION: region,
        DATABASE_URL: cell.deps.env.DATABASE_URL,
        NATS_URL: nats.url,
        SUBJECT_ROOT: root,
        POLL_MS: "200",
        HEARTBEAT_MS: "500",
        LOG_LEVEL: "silent",
      }),
    );
  }
  const projectorDb = await createTestDatabase("projector", p.label);
  const env: ProjectorEnv = projectorEnvSchema.parse({
    DATABASE_URL: projectorDb.url,
    NATS_URL: nats.url,
    REGIONS: Object.keys(p.cells).join(","),
    SUBJECT_ROOT: root,
    EDGE_URL: p.edge.url,
    CATALOG_URL: p.catalog.url,
    CELL_URLS: JSON.stringify(Object.fromEntries(Object.entries(p.cells).map(([r, c]) => [r, c.url]))),
    INTERNAL_TOKEN,
    PUSH_INTERVAL_MS: "30",
    LOG_LEVEL: "silent",
  });
  let projector = await startProjector(env);
  // Promotions ask the projector whether the DR standby has drained the source's stream.
  p.catalog.deps.env.PROJECTOR_URL = projector.url;
  const pipeline: EventPipeline = {
    nats,
    relays,
    get projector() {
      return projector;
    },
    projectorDb,
    root,
    async stopProjector() {
      await slowIsSaid("projector stop", () => projector.close());
    },
    async startProjectorAgain() {
      projector = await slowIsSaid("projector start", () => startProjector(env));
      p.catalog.deps.env.PROJECTOR_URL = projector.url;
    },
    async close() {
      await teardownStep("projector", () => projector.close());
      for (const [region, r] of Object.entries(relays))
        await teardownStep(`relay ${region}`, () => r.close());
      await teardownStep("nats-server", () => nats.destroy());
      await teardownStep("projector database", () => projectorDb.drop());
    },
  };
  return pipeline;
}

/** A stop or start that takes long is named on stderr: a test that times out then says where. */
async function slowIsSaid<T>(what: string, f: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const said = setTimeout(() => console.error(`${what}: still running after 5 s`), 5000);
  try {
    return await f();
  } finally {
    clearTimeout(said);
    const ms = Date.now() - started;
    if (ms > 5000) console.error(`${what} took ${ms} ms`);
  }
}
