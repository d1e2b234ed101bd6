import type { AggregateType, EventBody } from "@homeroute/contracts";
import type { PendingQuery, Row } from "postgres";

/**
 * What a domain verb decided, ready to be written in one statement. `ctes` must define a CTE named
 * `mutation` that returns one row with a `patch` jsonb column (values only the database knows,
 * such as a case number) and that is conditioned on `EXISTS (SELECT 1 FROM gate)`.
 */
export interface WritePlan {
  ctes: PendingQuery<Row[]>;
  statusCode: number;
  /** Stored in the command log and returned (merged with `patch`); replays get exactly this. */
  response: Record<string, unknown>;
  /** Returned to the first caller only and never stored (the case's access code). */
  once?: Record<string, unknown>;
  aggregate: { type: AggregateType; id: string; version: number };
  event: EventBody;
  /** Kept in the audit row only, never in the event (e.g. a decision's rationale stays home). */
  auditDetail?: Record<string, unknown>;
}
