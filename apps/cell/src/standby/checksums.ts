import type { TableChecksum } from "@homeroute/contracts";
import type { Sql, TransactionSql } from "postgres";

/**
 * Row counts and content checksums of a tenant's tables: what two copies of a tenant must agree on
 * (migration validation, DESIGN §9; backup manifests and restore checks, docs/backups.md). Only
 * columns both copies must agree on: not the home region (it moves with the fence) nor local
 * bookkeeping. Runs on any cell database, inside a caller's snapshot when given a transaction.
 */
export async function tenantTableChecksums(
  sql: Sql | TransactionSql,
  tenantId: string,
): Promise<TableChecksum[]> {
  const q = (name: string, rows: Promise<{ n: number; sum: string | null }[]>) =>
    rows.then(([r]) => ({ name, count: r!.n, checksum: r!.sum ?? "" }));
  return Promise.all([
    q(
      "regulatory_case",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', case_id, case_number, status,
          version, category, country_code, summary, access_code_hash), ',' ORDER BY case_id)) AS sum
        FROM regulatory_case WHERE tenant_id = ${tenantId}`,
    ),
    q(
      "case_task",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', task_id, case_id, title, assignee_id,
          status, version), ',' ORDER BY task_id)) AS sum FROM case_task WHERE tenant_id = ${tenantId}`,
    ),
    q(
      "evidence_object",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', evidence_id, case_id, sha256,
          size, storage_region, object_key), ',' ORDER BY evidence_id)) AS sum FROM evidence_object WHERE tenant_id = ${tenantId}`,
    ),
    q(
      "review_recommendation",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', recommendation_id, case_id,
          reviewer_id, recommendation, rationale), ',' ORDER BY recommendation_id)) AS sum
        FROM review_recommendation WHERE tenant_id = ${tenantId}`,
    ),
    q(
      "authorization_grant",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', user_id, role), ','
          ORDER BY user_id, role)) AS sum FROM authorization_grant WHERE tenant_id = ${tenantId}`,
    ),
    // The audit trail of the tenant's commands: the same events in both copies (each side chains
    // them with its own hashes, so the chain is verified per side, not compared).
    q(
      "global_audit_event",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', command_id, action_type, aggregate_type,
          aggregate_id, aggregate_version, region_epoch, home_region, (extract(epoch FROM occurred_at) * 1000000)::bigint),
          ',' ORDER BY command_id, aggregate_id, aggregate_version)) AS sum
        FROM global_audit_event WHERE tenant_id = ${tenantId} AND command_id IS NOT NULL`,
    ),
    q(
      "tenant_registration",
      sql`SELECT count(*)::int AS n, md5(string_agg(concat_ws('|', tenant_id, name, residency_policy), ','))
          AS sum FROM tenant_registration WHERE tenant_id = ${tenantId}`,
    ),
  ]);
}
