import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, tstz, updatedAt } from "./columns.js";

/** Tenants homed in this cell (registered by the catalog through the control API). */
export const tenantRegistration = pgTable(
  "tenant_registration",
  {
    tenantId: uuid().primaryKey(),
    name: text().notNull(),
    homeRegion: text().notNull(),
    status: text().notNull(),
    residencyPolicy: text().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check(
      "ck_tenant_registration_status",
      sql`${t.status} IN ('ACTIVE','MIGRATING','SUSPENDED','DECOMMISSIONED')`,
    ),
  ],
);

/**
 * The cell's local copy of the fence per scope (`tenant:<id>` or `region:<code>`), checked inside
 * every command transaction (DESIGN §5, §7). The catalog is the authority; this is the gate.
 */
export const regionWriteEpoch = pgTable(
  "region_write_epoch",
  {
    logicalScope: text().primaryKey(),
    activeRegion: text().notNull(),
    epoch: bigint({ mode: "number" }).notNull(),
    status: text().notNull(),
    leaseExpiresAt: tstz(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("ck_region_write_epoch_status", sql`${t.status} IN ('WRITABLE','READ_ONLY','FENCED','MIGRATING')`),
    check("ck_region_write_epoch_positive", sql`${t.epoch} > 0`),
  ],
);

export const authorizationGrant = pgTable(
  "authorization_grant",
  {
    tenantId: uuid().notNull(),
    userId: uuid().notNull(),
    role: text().notNull(),
    grantedBy: uuid(),
    grantedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId, t.role] })],
);

/** Idempotency: one row per (tenant, command id) holding the request hash and the stored response. */
export const commandLog = pgTable(
  "command_log",
  {
    tenantId: uuid().notNull(),
    commandId: uuid().notNull(),
    operation: text().notNull(),
    requestHash: text().notNull(),
    statusCode: bigint({ mode: "number" }).notNull(),
    response: jsonb().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.commandId] }),
    index("ix_command_log_created").on(t.createdAt),
  ],
);

/** Per (tenant, user) version of the grant aggregate, so grant events order like any other. */
export const grantVersion = pgTable(
  "grant_version",
  {
    tenantId: uuid().notNull(),
    userId: uuid().notNull(),
    version: bigint({ mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);
