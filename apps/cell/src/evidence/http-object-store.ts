import type { ObjectStore } from "./object-store.js";

/** The store did not answer (down, partitioned): the caller decides between refusing and deferring. */
export class ObjectStoreUnavailable extends Error {}

/**
 * A region's evidence store reached over HTTP (DESIGN §4: "object store of the residency region").
 * In the simulation and tests it is store-server.ts; in production an R2 bucket or an
 * S3-compatible store in the same jurisdiction (infra/object-stores.json).
 */
export function createHttpObjectStore(
  baseUrl: string,
  region: string,
  token: string,
  timeoutMs = 1000,
): ObjectStore {
  const at = (key: string) => `${baseUrl}/objects/${key}`;
  const send = async (method: string, key: string, body?: Uint8Array) => {
    try {
      return await fetch(at(key), {
        method,
        headers: { authorization: `Bearer ${token}` },
        body: body as Uint8Array<ArrayBuffer> | undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new ObjectStoreUnavailable(
        `the ${region} evidence store does not answer: ${(e as Error).message}`,
      );
    }
  };
  return {
    region,
    async put(key, bytes) {
      const res = await send("PUT", key, bytes);
      if (!res.ok) throw new ObjectStoreUnavailable(`the ${region} evidence store answered ${res.status}`);
    },
    async get(key) {
      const res = await send("GET", key);
      if (res.status === 404) return null;
      if (!res.ok) throw new ObjectStoreUnavailable(`the ${region} evidence store answered ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
    async remove(key) {
      await send("DELETE", key).catch(() => {});
    },
    pathOf: (key) => at(key),
  };
}
