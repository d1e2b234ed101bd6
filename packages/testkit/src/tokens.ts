import { signDevToken } from "@homeroute/service-kit";

export const TEST_JWT_SECRET = "test-secret-at-least-32-bytes-long-0123456789";

export interface TokenOptions {
  sub: string;
  tid?: string;
  ops?: boolean;
  /** A support session from this region (docs/residency.md "Support access"). */
  supportRegion?: string;
  secret?: string;
  iss?: string;
  aud?: string;
  expiresInSeconds?: number;
  alg?: string;
}

/** A dev/test token as CONTRACT.md describes (HS256, iss homeroute-dev, aud homeroute). */
export function makeToken(o: TokenOptions): Promise<string> {
  return signDevToken(
    o.secret ?? TEST_JWT_SECRET,
    { sub: o.sub, tid: o.tid, ops: o.ops, supportRegion: o.supportRegion },
    o.expiresInSeconds ?? 3600,
    {
      ...(o.iss ? { iss: o.iss } : {}),
      ...(o.aud ? { aud: o.aud } : {}),
      ...(o.alg ? { alg: o.alg } : {}),
    },
  );
}

/** An unsigned `alg: none` token, for the security tests. */
export function makeUnsignedToken(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
}
