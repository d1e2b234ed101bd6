import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@homeroute/service-kit";
import { createObjectStore, type ObjectStore } from "./object-store.js";

/**
 * Evidence bytes waiting for their region's store (seed §19: store down → metadata only, where
 * the policy allows). The spool is on the cell's own disk, in the same region, written before the
 * metadata commits (like the store itself); a loop hands each blob to the store when it answers
 * again and removes it from the spool once stored.
 */
export interface DeferredUploads {
  spool: ObjectStore;
  pending(): Promise<string[]>;
  /** One pass: every spooled blob the store now takes. Returns how many were stored. */
  drain(): Promise<number>;
  start(intervalMs: number): void;
  stop(): void;
}

export function createDeferredUploads(dir: string, store: ObjectStore, log: Logger): DeferredUploads {
  const spool = createObjectStore(dir, store.region);
  const root = spool.pathOf("");
  let timer: NodeJS.Timeout | null = null;
  let draining: Promise<number> | null = null;
  const pending = async (): Promise<string[]> => {
    const keys: string[] = [];
    const walk = async (d: string, prefix: string[]) => {
      let entries: string[];
      try {
        entries = await readdir(d);
      } catch {
        return;
      }
      for (const name of entries) {
        if (name.includes(".tmp-")) continue;
        if (prefix.length === 2) keys.push([...prefix, name].join("/"));
        else await walk(join(d, name), [...prefix, name]);
      }
    };
    await walk(root, []);
    return keys;
  };
  const drain = async (): Promise<number> => {
    let stored = 0;
    for (const key of await pending()) {
      try {
        await store.put(key, await readFile(spool.pathOf(key)));
        await rm(spool.pathOf(key), { force: true });
        stored++;
      } catch (e) {
        log.info("deferred evidence upload waits for the store", {
          region: store.region,
          error: (e as Error).message,
        });
        break; // still down: try again next pass
      }
    }
    return stored;
  };
  return {
    spool,
    pending,
    drain: () => {
      draining ??= drain().finally(() => {
        draining = null;
      });
      return draining;
    },
    start(intervalMs) {
      void mkdir(root, { recursive: true });
      timer = setInterval(() => void this.drain(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
