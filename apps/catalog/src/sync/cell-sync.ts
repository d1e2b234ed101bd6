import type { Sql, TransactionSql } from "postgres";
import type { CatalogDeps } from "../deps.js";

// The catalog's outbox for cell control calls. Queued in the same transaction as the decision,
// delivered in order per region, retried with backoff until the cell answers 2xx; a cell that
// is down gets everything when it returns (issue 3: "idempotently and with retries").

export async function queueCellCall(
  tx: TransactionSql | Sql,
  region: string,
  method: "PUT",
  path: string,
  body: unknown,
): Promise<void> {
  await tx`
    INSERT INTO cell_sync_task (region, method, path, body)
    VALUES (${region}, ${method}, ${path}, ${body === undefined ? null : tx.json(body as never)})`;
}

interface Task {
  task_id: number;
  region: string;
  method: string;
  path: string;
  body: unknown;
  attempts: number;
}

/** Delivers what is due; per region it stops at the first failure so order is kept. */
export async function deliverPending(deps: CatalogDeps): Promise<{ delivered: number; failed: number }> {
  const tasks = await deps.sql<Task[]>`
    SELECT task_id, region, method, path, body, attempts FROM cell_sync_task
    WHERE done_at IS NULL ORDER BY task_id LIMIT 500`;
  const blocked = new Set<string>();
  let delivered = 0;
  let failed = 0;
  const now = Date.now();
  for (const t of tasks) {
    if (blocked.has(t.region)) continue;
    const url = deps.env.CELL_URLS[t.region];
    if (!url) {
      blocked.add(t.region);
      continue;
    }
    const [due] = await deps.sql<{ due: boolean }[]>`
      SELECT next_attempt_at <= now() AS due FROM cell_sync_task WHERE task_id = ${t.task_id}`;
    if (!due?.due) {
      blocked.add(t.region);
      continue;
    }
    try {
      const res = await fetch(`${url}${t.path}`, {
        method: t.method,
        headers: { authorization: `Bearer ${deps.env.INTERNAL_TOKEN}`, "content-type": "application/json" },
        body: t.body === null ? undefined : JSON.stringify(t.body),
        signal: AbortSignal.timeout(3000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      await deps.sql`UPDATE cell_sync_task SET done_at = now(), attempts = attempts + 1 WHERE task_id = ${t.task_id}`;
      delivered++;
    } catch (e) {
      failed++;
      blocked.add(t.region);
      const backoffMs = Math.min(30_000, 250 * 2 ** Math.min(t.attempts, 7));
      await deps.sql`
        UPDATE cell_sync_task SET attempts = attempts + 1, last_error = ${(e as Error).message.slice(0, 500)},
          next_attempt_at = ${new Date(now + backoffMs)}
        WHERE task_id = ${t.task_id}`;
    }
  }
  return { delivered, failed };
}

/** A loop woken by `kick()` after commits and by a timer otherwise. */
export function startSyncLoop(deps: CatalogDeps): { kick(): void; stop(): Promise<void> } {
  let running = false;
  let again = false;
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    current = (async () => {
      do {
        again = false;
        try {
          await deliverPending(deps);
        } catch (e) {
          deps.log.error("cell sync failed", { error: (e as Error).message });
        }
      } while (again && !stopped);
      running = false;
    })();
  };
  const timer = setInterval(run, deps.env.SYNC_INTERVAL_MS);
  timer.unref();
  return {
    kick: run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}

/** Makes a region's undelivered calls due now (it answered again) and wakes the sender. */
export async function retryRegionNow(deps: CatalogDeps, region: string): Promise<void> {
  await deps.sql`
    UPDATE cell_sync_task SET next_attempt_at = now() WHERE region = ${region} AND done_at IS NULL`;
  deps.kickSync();
}
