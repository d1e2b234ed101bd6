import type { CreateCaseBody } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { DecideInput } from "../commands/execute.js";
import type { WritePlan } from "../commands/plan.js";
import type { CellDeps } from "../deps.js";
import { hashAccessCode, newAccessCode } from "./access-code.js";
import { iso } from "./view.js";

/**
 * Intake: a new case in this home cell at version 1. The display number comes from the
 * (tenant, region, year) counter row, incremented in the same statement, so numbers are
 * consecutive and a refused or failed command consumes none (DESIGN §12).
 */
export function planCreateCase(
  deps: CellDeps,
  tenantId: string,
  input: CreateCaseBody,
  d: DecideInput,
): WritePlan {
  const { sql, region, displayPrefix } = deps;
  const caseId = uuidv7(d.now.getTime());
  const accessCode = newAccessCode();
  const accessCodeHash = hashAccessCode(caseId, accessCode);
  const year = d.now.getUTCFullYear();
  const at = iso(d.now);
  return {
    ctes: sql`,
      counter AS (
        INSERT INTO case_number_counter (tenant_id, region_code, year, next_value)
        SELECT ${tenantId}, ${region}, ${year}, 2 WHERE EXISTS (SELECT 1 FROM gate)
        ON CONFLICT (tenant_id, region_code, year)
          DO UPDATE SET next_value = case_number_counter.next_value + 1
        RETURNING next_value - 1 AS issued
      ),
      mutation AS (
        INSERT INTO regulatory_case (tenant_id, case_id, home_region, region_epoch, case_number, status, version,
          category, country_code, summary, channel, access_code_hash, created_at, updated_at)
        SELECT ${tenantId}, ${caseId}, ${region}, ${d.epoch},
          ${`${displayPrefix}-${year}-`} || lpad(c.issued::text, 8, '0'), 'INTAKE', 1,
          ${input.category}, ${input.countryCode}, ${input.summary}, ${input.channel}, ${accessCodeHash},
          ${d.now}, ${d.now}
        FROM counter c
        RETURNING jsonb_build_object('caseNumber', case_number) AS patch
      )`,
    statusCode: 201,
    response: {
      caseId,
      tenantId,
      homeRegion: region,
      regionEpoch: d.epoch,
      status: "INTAKE",
      category: input.category,
      countryCode: input.countryCode,
      summary: input.summary,
      version: 1,
      createdAt: at,
      updatedAt: at,
    },
    once: { accessCode },
    aggregate: { type: "case", id: caseId, version: 1 },
    event: {
      type: "case.created",
      aggregateType: "case",
      payload: {
        caseNumber: "",
        status: "INTAKE",
        category: input.category,
        countryCode: input.countryCode,
        channel: input.channel,
        summary: input.summary,
        accessCodeHash,
      },
    },
  };
}
