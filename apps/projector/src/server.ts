import { createLogger, serveStatus } from "@homeroute/service-kit";
import { AuditReplicator } from "./audit-replica.js";
import type { ProjectorEnv } from "./env.js";
import { createProjectorMetrics } from "./metrics.js";
import { Projector } from "./projector.js";

export interface RunningProjector {
  projector: Projector;
  /** The protected audit replica's consumer (null without cell URLs, like the DR standby). */
  auditReplicator: AuditReplicator | null;
  url: string;
  close(): Promise<void>;
}

/** The projector plus GET /status (per-region watermarks and lag, standby backlog), /healthz, /metrics. */
export async function startProjector(env: ProjectorEnv): Promise<RunningProjector> {
  const projector = new Projector(env);
  await projector.start();
  const auditReplicator =
    Object.keys(env.CELL_URLS).length > 0
      ? new AuditReplicator({
          natsUrl: env.NATS_URL,
          root: env.SUBJECT_ROOT,
          regions: env.REGIONS,
          cellUrls: env.CELL_URLS,
          catalogUrl: env.CATALOG_URL,
          internalToken: env.INTERNAL_TOKEN,
          log: createLogger(env.LOG_LEVEL, "global"),
        })
      : null;
  auditReplicator?.start();
  const registry = createProjectorMetrics(projector.sql, () => projector.standbyLag(), auditReplicator);
  const status = async () => ({
    ...(await projector.status()),
    auditReplica: auditReplicator && {
      ...auditReplicator.stats,
      pending: await auditReplicator.pending().catch(() => ({})),
    },
  });
  const http = await serveStatus(status, env.PORT, env.HOST, registry);
  return {
    projector,
    auditReplicator,
    url: http.url,
    async close() {
      await http.close();
      await auditReplicator?.stop();
      await projector.stop();
    },
  };
}
