import { DomainError, type ReferenceKind } from "@homeroute/contracts";
import type { Sql } from "postgres";

export interface ReferenceView {
  kind: ReferenceKind;
  version: number;
  items: unknown[];
  publishedAt: string;
}

/** The newest version of a reference data kind (the catalog is its home, DESIGN §4). */
export async function latestReference(sql: Sql, kind: ReferenceKind): Promise<ReferenceView> {
  const [r] = await sql<{ version: number; items: unknown[]; published_at: Date }[]>`
    SELECT version, items, published_at FROM reference_data WHERE kind = ${kind} ORDER BY version DESC LIMIT 1`;
  if (!r) throw new DomainError("NOT_FOUND", `no ${kind} published`);
  return { kind, version: r.version, items: r.items, publishedAt: r.published_at.toISOString() };
}
