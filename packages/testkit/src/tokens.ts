import { SignJWT } from "jose";

export const TEST_JWT_SECRET = "test-secret-at-least-32-bytes-long-0123456789";

export interface TokenOptions {
  sub: string;
  tid?: string;
  ops?: boolean;
  secret?: string;
  iss?: string;
  aud?: string;
  expiresInSeconds?: number;
  alg?: string;
}

/** A dev/test token as CONTRACT.md describes (HS256, iss homeroute-dev, aud homeroute). */
export async function makeToken(o: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {};
  if (o.tid) claims.tid = o.tid;
  if (o.ops) claims.ops = true;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: o.alg ?? "HS256", typ: "JWT" })
    .setSubject(o.sub)
    .setIssuer(o.iss ?? "homeroute-dev")
    .setAudience(o.aud ?? "homeroute")
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expiresInSeconds ?? 3600))
    .sign(new TextEncoder().encode(o.secret ?? TEST_JWT_SECRET));
}

/** An unsigned `alg: none` token, for the security tests. */
export function makeUnsignedToken(claims: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
}
