import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

// A per-region object store: a directory tagged by region for now (DESIGN §4 "object store of the
// residency region"). Writes go to a temp name and are renamed, so a crash never leaves half a blob.
export interface ObjectStore {
  region: string;
  put(key: string, bytes: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
  /** The blob's bytes, or null when this region's store does not hold it. */
  get(key: string): Promise<Uint8Array | null>;
  pathOf(key: string): string;
}

export function createObjectStore(root: string, region: string): ObjectStore {
  const base = resolve(root, region);
  const pathOf = (key: string) => join(base, key);
  return {
    region,
    pathOf,
    async put(key, bytes) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.tmp-${process.pid}`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
    async get(key) {
      try {
        return await readFile(pathOf(key));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw e;
      }
    },
    async remove(key) {
      await rm(pathOf(key), { force: true });
    },
  };
}
