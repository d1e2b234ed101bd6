import { chmod, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dumpTenants } from "../src/backup/dump.js";
import { dumpIncompatibility, serverMajor, toolMajor } from "../src/backup/pg-tools.js";
import { type CellHarness, setupTenant, startCellHarness } from "./harness.js";

// pg_dump refuses a server newer than itself; a backup says so up front, with what to install,
// and leaves nothing in the store (docs/backups.md).

describe("pg_dump version check", () => {
  it("reads versions and names the mismatch", () => {
    expect(toolMajor("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)")).toBe(15);
    expect(toolMajor("pg_dump (PostgreSQL) 18beta1")).toBe(18);
    expect(toolMajor("not a version")).toBeNull();
    expect(serverMajor(150020)).toBe(15);
    expect(serverMajor(180001)).toBe(18);
    expect(dumpIncompatibility("pg_dump (PostgreSQL) 15.20", 150020, "15.20")).toBeNull();
    expect(dumpIncompatibility("pg_dump (PostgreSQL) 17.2", 150020, "15.20")).toBeNull();
    expect(dumpIncompatibility("pg_dump (PostgreSQL) 15.20", 180001, "18.1")).toBe(
      "pg_dump 15 cannot dump a PostgreSQL 18 server (18.1): install PostgreSQL 18 client tools or point PG_BIN_DIR at them",
    );
  });
});

describe("a backup with unusable client tools", () => {
  let h: CellHarness;
  let store: string;
  let bin: string;
  beforeAll(async () => {
    h = await startCellHarness("backup_tools");
    store = await mkdtemp(join(tmpdir(), "hr-backup-store-"));
    bin = await mkdtemp(join(tmpdir(), "hr-pg-bin-"));
  });
  afterAll(async () => {
    await h?.close();
    await rm(store, { recursive: true, force: true });
    await rm(bin, { recursive: true, force: true });
  });

  const request = async () => {
    const t = await setupTenant(h);
    return {
      backupId: uuidv7(),
      storeRegion: "ap-id",
      tenants: [{ tenantId: t.tenantId, policy: "ID_STRICT", homeRegion: "ap-id" }],
      excluded: [],
    };
  };

  it("refuses with REGION_UNAVAILABLE when pg_dump is older than the server, before writing anything", async () => {
    const [v] = await h.sql<{ num: string }[]>`SELECT current_setting('server_version_num') AS num`;
    const older = serverMajor(Number(v!.num)) - 1;
    await writeFile(join(bin, "pg_dump"), `#!/bin/sh\necho "pg_dump (PostgreSQL) ${older}.0"\n`);
    await chmod(join(bin, "pg_dump"), 0o755);
    const err = await dumpTenants(
      h.cell.deps,
      { BACKUP_STORE_DIR: store, PG_BIN_DIR: bin },
      await request(),
    ).catch((e) => e);
    expect(err).toMatchObject({ code: "REGION_UNAVAILABLE" });
    expect(err.message).toMatch(new RegExp(`pg_dump ${older} cannot dump a PostgreSQL ${older + 1} server`));
    expect(await readdir(store)).toEqual([]);
  });

  it("refuses with REGION_UNAVAILABLE when pg_dump is not installed", async () => {
    const empty = await mkdtemp(join(tmpdir(), "hr-pg-none-"));
    const err = await dumpTenants(
      h.cell.deps,
      { BACKUP_STORE_DIR: store, PG_BIN_DIR: empty },
      await request(),
    ).catch((e) => e);
    await rm(empty, { recursive: true, force: true });
    expect(err).toMatchObject({ code: "REGION_UNAVAILABLE" });
    expect(err.message).toMatch(/pg_dump not found/);
    expect(await readdir(store)).toEqual([]);
  });
});
