import { createHash, randomInt } from "node:crypto";

// The public portal's access code: shown once at intake, only its hash is stored (CONTRACT.md).
// 12 symbols from a 32-letter alphabet without look-alikes = 60 bits, so a salted SHA-256 (salt =
// caseId) is enough against guessing, and the edge can check it cheaply with WebCrypto.
const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

export function newAccessCode(): string {
  let s = "";
  for (let i = 0; i < 12; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8)}`;
}

export function hashAccessCode(caseId: string, code: string): string {
  return createHash("sha256").update(`${caseId}:${code.toUpperCase()}`).digest("hex");
}
