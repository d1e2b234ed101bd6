import { readdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import {
  completeTaskBody,
  createCaseBody,
  createTaskBody,
  decisionBody,
  ERROR_CODES,
  ERROR_STATUS,
  evidenceHeaders,
  fenceScope,
  getCaseQuery,
  grantParams,
  listCasesQuery,
  putFenceBody,
  putTenantBody,
  reviewRecommendationBody,
  transitionBody,
  uuid as uuidSchema,
} from "@homeroute/contracts";
import { UUID_RE, uuidv7 } from "@homeroute/ids";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  createCase,
  INTERNAL_TOKEN,
  newCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

// Property-based fuzz of every cell route: bodies, path params, query strings and headers.
// Every generated request is invalid by construction (the contract's own schemas are the oracle
// that filters out anything the cell would accept), so every answer must be a 4xx problem+json
// with a contract code, no stack trace, and no row written anywhere.

const MiB = 1024 * 1024;
const EVIDENCE_MAX = 64 * 1024;
const RUNS = 120;

let h: CellHarness;
let t: TenantFixture;
let caseId: string;
let taskId: string;
let sup: string;

beforeAll(async () => {
  h = await startCellHarness("fuzz", "ap-id", { EVIDENCE_MAX_BYTES: EVIDENCE_MAX });
  t = await setupTenant(h);
  sup = t.users.supervisor!.token;
  caseId = (await createCase(h, t)).caseId;
  const task = await call(
    h,
    "POST",
    `/v1/tenants/${t.tenantId}/cases/${caseId}/tasks`,
    { title: "look", assigneeId: t.users.investigator!.userId },
    { token: sup },
  );
  if (task.status !== 201) throw new Error(`task setup failed: ${task.status}`);
  taskId = task.body.taskId;
});
afterAll(() => h?.close());

// ---------------------------------------------------------------------------------------------
// Transport and assertions

interface Reply {
  status: number;
  contentType: string | null;
  text: string;
  body: any;
}

interface SendOptions {
  /** Replaces the default `Bearer <supervisor token>`; null sends none. */
  auth?: string | null;
  /** Replaces the default fresh UUID on POST/PUT; null sends none. */
  key?: string | null;
  contentType?: string | null;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

async function send(method: string, path: string, o: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const auth = o.auth === undefined ? `Bearer ${sup}` : o.auth;
  if (auth !== null) headers.authorization = auth;
  if (method !== "GET") {
    const key = o.key === undefined ? uuidv7() : o.key;
    if (key !== null) headers["idempotency-key"] = key;
  }
  const ct = o.contentType === undefined ? "application/json" : o.contentType;
  if (ct !== null && o.body !== undefined) headers["content-type"] = ct;
  Object.assign(headers, o.headers);
  const res = await fetch(`${h.cell.url}${path}`, { method, headers, body: o.body as RequestInit["body"] });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type"), text, body };
}

const STACK_RE =
  /\n\s+at |\bat (?:async )?[\w$.<>]+ \(|\.(?:ts|js|mjs|cjs):\d+:\d+|node_modules|\/work\/|file:\/\/|Error:/;

/** A contract problem: 4xx, problem+json, the RFC 9457 members, a known code, no stack trace. */
function expectProblem(r: Reply, statuses?: readonly number[]): void {
  const ctx = `${r.status} ${r.text.slice(0, 400)}`;
  expect(r.status, ctx).toBeGreaterThanOrEqual(400);
  expect(r.status, ctx).toBeLessThan(500);
  if (statuses) expect(statuses, ctx).toContain(r.status);
  expect(r.contentType ?? "", ctx).toMatch(/^application\/problem\+json/);
  expect(r.body, ctx).toBeTypeOf("object");
  expect(r.body, ctx).not.toBeNull();
  const { type, title, status, detail, code } = r.body;
  expect(typeof type, ctx).toBe("string");
  expect(typeof title, ctx).toBe("string");
  expect(typeof detail, ctx).toBe("string");
  expect(status, ctx).toBe(r.status);
  expect(ERROR_CODES, ctx).toContain(code);
  expect(code, ctx).not.toBe("INTERNAL");
  expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS], ctx).toBe(r.status);
  // `issues` may quote a generated key back (zod's "Unrecognized key"), so the stack-trace scan
  // covers everything else verbatim and only the shape of the issues.
  const { issues, ...rest } = r.body;
  expect(JSON.stringify(rest), ctx).not.toMatch(STACK_RE);
  if (issues !== undefined) {
    expect(Array.isArray(issues), ctx).toBe(true);
    for (const i of issues) {
      expect(Array.isArray(i.path), ctx).toBe(true);
      expect(typeof i.message, ctx).toBe("string");
      expect(i.message, ctx).not.toMatch(/\n\s+at /);
    }
  }
}

/** Row counts and a fingerprint of every table a request could touch. */
async function snapshot(): Promise<Record<string, number | string | null>> {
  const [r] = await h.sql<Record<string, number | string | null>[]>`
    SELECT (SELECT count(*)::int FROM regulatory_case) AS regulatory_case,
      (SELECT coalesce(sum(version), 0)::text FROM regulatory_case) AS case_versions,
      (SELECT count(*)::int FROM global_audit_event) AS global_audit_event,
      (SELECT count(*)::int FROM outbox_event) AS outbox_event,
      (SELECT count(*)::int FROM command_log) AS command_log,
      (SELECT count(*)::int FROM case_task) AS case_task,
      (SELECT coalesce(sum(version), 0)::text FROM case_task) AS task_versions,
      (SELECT count(*)::int FROM evidence_object) AS evidence_object,
      (SELECT count(*)::int FROM review_recommendation) AS review_recommendation,
      (SELECT count(*)::int FROM tenant_registration) AS tenant_registration,
      (SELECT max(updated_at)::text FROM tenant_registration) AS tenants_updated,
      (SELECT count(*)::int FROM region_write_epoch) AS region_write_epoch,
      (SELECT max(updated_at)::text FROM region_write_epoch) AS fences_updated,
      (SELECT count(*)::int FROM authorization_grant) AS authorization_grant`;
  return { ...r!, blobs: await countFiles(h.objectStoreDir) };
}

async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/** Runs a property and checks that nothing at all was written while it ran. */
async function noWrites(run: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  await run();
  expect(await snapshot()).toEqual(before);
}

const runs = (n = RUNS) => ({ numRuns: n, endOnFailure: true });

// ---------------------------------------------------------------------------------------------
// Generators

/** A string as the server will decode it (lone surrogates become U+FFFD, a BOM is dropped). */
const asServerSees = (text: string) => new TextDecoder().decode(new TextEncoder().encode(text));

const oddChars = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\ud800",
  "\udfff",
  "\u202e",
  "\u200b",
  "\ufeff",
  "\uffff",
  "\u0301",
  "𝕏",
  "👩‍👩‍👧",
  "ﷺ",
  "\\",
  '"',
  "'",
  "%00",
  "\r\n",
  "<script>",
  "' OR 1=1 --",
  "{{7*7}}",
  "%s%n",
);
const oddString = fc
  .array(fc.oneof(oddChars, fc.string({ unit: "binary", maxLength: 8 })), { maxLength: 12 })
  .map((a) => a.join(""));
const hugeString = fc
  .tuple(
    fc.oneof(fc.constantFrom("x", "é", "𝕏", "a\u0000"), fc.string({ minLength: 1, maxLength: 6 })),
    fc.integer({ min: 2_000, max: 60_000 }),
  )
  .map(([s, n]) => s.repeat(n));
const weirdNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(-1, -0, 0.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 63, Number.MAX_SAFE_INTEGER + 1),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
);
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  oddString,
  hugeString,
  weirdNumber,
  fc.constantFrom(null, true, false, [], {}, "", " ", "\t\n", "null", "1", "[]", "{}"),
  fc.uuid().map((u) => u.toUpperCase()),
);

/** JSON text that is not valid JSON at all. */
const malformedJson = (valid: Record<string, unknown>) =>
  fc.oneof(
    fc.string({ unit: "binary", maxLength: 64 }),
    fc.constantFrom(
      "",
      " ",
      "{",
      "}",
      "[1,",
      "nul",
      "tru",
      "{'a':1}",
      '{"a":1}}',
      "{,}",
      '{"a" 1}',
      "NaN",
      "Infinity",
      "undefined",
      "\u0000",
      '"\\ud800',
      '{"a":"\\x41"}',
      "/* c */ {}",
      "\ufeff\ufeff{}",
    ),
    fc
      .integer({ min: 1, max: 200 })
      .map((n) => JSON.stringify(valid).slice(0, -Math.min(n, JSON.stringify(valid).length))),
    fc.string({ minLength: 1, maxLength: 10 }).map((g) => `${JSON.stringify(valid)}${g}`),
  );

type Schema = { safeParse(v: unknown): { success: boolean } };

/** Does the cell refuse this body text? Mirrors jsonBody + parseWith exactly. */
function refusesBody(schema: Schema, text: string): boolean {
  const seen = asServerSees(text);
  if (seen.length === 0) return true;
  let value: unknown;
  try {
    value = JSON.parse(seen);
  } catch {
    return true;
  }
  return !schema.safeParse(value).success;
}

/** Body text the schema refuses: arbitrary JSON, a mutated valid body, or not JSON at all. */
function invalidBody(schema: Schema, valid: Record<string, unknown>): fc.Arbitrary<string> {
  const keys = Object.keys(valid);
  const mutated = fc
    .record({
      op: fc.constantFrom("replace", "delete", "extra", "wrap"),
      key: fc.constantFrom(...keys),
      extraKey: fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom("__proto__", "constructor", "tenantId"),
      ),
      value: weirdValue,
    })
    .map(({ op, key, extraKey, value }) => {
      const b: Record<string, unknown> = { ...valid };
      if (op === "replace") b[key] = value;
      else if (op === "delete") delete b[key];
      else if (op === "extra")
        return JSON.stringify(b).replace(
          /}$/,
          `,${JSON.stringify(extraKey)}:${JSON.stringify(value) ?? "null"}}`,
        );
      else return JSON.stringify([b]);
      return JSON.stringify(b);
    });
  return fc
    .oneof(
      { arbitrary: mutated, weight: 4 },
      { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), weight: 2 },
      { arbitrary: malformedJson(valid), weight: 2 },
    )
    .filter((text) => refusesBody(schema, text));
}

/** A header value fetch will send (Latin-1, no controls, no edge whitespace). */
const headerValue = (maxLength = 64) =>
  fc
    .string({
      unit: fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
        fc.constantFrom("-", "0", "a", "f", "7", "8"),
      ),
      maxLength,
    })
    .filter((s) => s === s.replace(/^[ \t]+|[ \t]+$/g, ""));

/** Near misses of a UUID as well as junk. */
const notAUuid = fc
  .oneof(
    headerValue(48),
    fc.uuid().map((u) => u.replace(/-/g, "")),
    fc.uuid().map((u) => `{${u}}`),
    fc.uuid().map((u) => `${u}0`),
    fc.uuid().map((u) => u.slice(1)),
    fc
      .tuple(fc.uuid(), fc.nat(35), fc.constantFrom("g", "z", "-", "G", "é"))
      .map(([u, i, ch]) => u.slice(0, i) + ch + u.slice(i + 1)),
    fc.constantFrom(
      "00000000-0000-0000-0000-000000000000",
      "ffffffff-ffff-ffff-ffff-ffffffffffff",
      "null",
      "0",
    ),
  )
  .filter((s) => !UUID_RE.test(s));

/** A path segment the cell must refuse or not find: not a UUID, or a UUID nobody has. */
const badSegment = fc
  .oneof(
    { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }), weight: 3 },
    { arbitrary: notAUuid, weight: 2 },
    { arbitrary: fc.uuid({ version: [4, 7] }), weight: 2 },
    { arbitrary: fc.constantFrom("%", "%zz", "..%2F", "%2e%2e%2f", "a/b", "'", "; DROP TABLE x"), weight: 1 },
  )
  .filter((s) => s !== "." && s !== ".." && s.length > 0);

/** Percent-encodes a segment as the server will decode it (lone surrogates cannot be encoded). */
const enc = (segment: string) => encodeURIComponent(asServerSees(segment));

// ---------------------------------------------------------------------------------------------
// The routes

interface JsonRoute {
  name: string;
  method: "POST" | "PUT";
  path: () => string;
  schema: Schema;
  valid: () => Record<string, unknown>;
  internal?: boolean;
}

const jsonRoutes = (): JsonRoute[] => [
  {
    name: "POST cases",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases`,
    schema: createCaseBody,
    valid: () => ({ ...newCase }),
  },
  {
    name: "POST transitions",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases/${caseId}/transitions`,
    schema: transitionBody,
    valid: () => ({ to: "TRIAGE", expectedStatus: "INTAKE", expectedVersion: 1, reason: "triage" }),
  },
  {
    name: "POST decision",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases/${caseId}/decision`,
    schema: decisionBody,
    valid: () => ({ outcome: "NO_VIOLATION", expectedVersion: 1, rationale: "none" }),
  },
  {
    name: "POST tasks",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases/${caseId}/tasks`,
    schema: createTaskBody,
    valid: () => ({ title: "t", assigneeId: t.users.investigator!.userId, dueAt: "2030-01-01T00:00:00Z" }),
  },
  {
    name: "POST tasks/:taskId/complete",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases/${caseId}/tasks/${taskId}/complete`,
    schema: completeTaskBody,
    valid: () => ({ expectedVersion: 1 }),
  },
  {
    name: "POST review-recommendations",
    method: "POST",
    path: () => `/v1/tenants/${t.tenantId}/cases/${caseId}/review-recommendations`,
    schema: reviewRecommendationBody,
    valid: () => ({ recommendation: "ESCALATE", rationale: "look again" }),
  },
  {
    name: "PUT internal tenants/:tenantId",
    method: "PUT",
    path: () => `/internal/v1/tenants/${t.tenantId}`,
    schema: putTenantBody,
    valid: () => ({
      name: "Renamed",
      homeRegion: "ap-id",
      status: "SUSPENDED",
      residencyPolicy: "ID_STRICT",
    }),
    internal: true,
  },
  {
    name: "PUT internal fences/:scope",
    method: "PUT",
    path: () => `/internal/v1/fences/tenant:${t.tenantId}`,
    schema: putFenceBody,
    valid: () => ({ activeRegion: "eu", epoch: 9, status: "FENCED", leaseExpiresAt: null }),
    internal: true,
  },
];

const internalAuth = `Bearer ${INTERNAL_TOKEN}`;

// Every case route, with a valid request apart from what a property breaks.
interface AnyRoute {
  name: string;
  method: "GET" | "POST";
  path: (p: { tenantId: string; caseId: string; taskId: string }) => string;
  body?: () => string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

const evidenceOk = { "x-evidence-filename": "note.txt" };
const caseRoutes = (): AnyRoute[] => [
  {
    name: "POST cases",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases`,
    body: () => JSON.stringify(newCase),
  },
  { name: "GET cases", method: "GET", path: (p) => `/v1/tenants/${p.tenantId}/cases` },
  { name: "GET case", method: "GET", path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}` },
  {
    name: "POST transitions",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/transitions`,
    body: () => JSON.stringify({ to: "TRIAGE", expectedVersion: 1, reason: "r" }),
  },
  {
    name: "POST decision",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/decision`,
    body: () => JSON.stringify({ outcome: "NO_VIOLATION", expectedVersion: 1, rationale: "r" }),
  },
  {
    name: "POST tasks",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/tasks`,
    body: () => JSON.stringify({ title: "t", assigneeId: t.users.investigator!.userId }),
  },
  {
    name: "POST tasks/:taskId/complete",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/tasks/${p.taskId}/complete`,
    body: () => JSON.stringify({ expectedVersion: 1 }),
  },
  {
    name: "POST evidence",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/evidence`,
    body: () => new TextEncoder().encode("evidence bytes"),
    contentType: "text/plain",
    headers: evidenceOk,
  },
  {
    name: "POST review-recommendations",
    method: "POST",
    path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/review-recommendations`,
    body: () => JSON.stringify({ recommendation: "ESCALATE", rationale: "r" }),
  },
  { name: "GET audit", method: "GET", path: (p) => `/v1/tenants/${p.tenantId}/cases/${p.caseId}/audit` },
];

const ids = () => ({ tenantId: t.tenantId, caseId, taskId });
const sendRoute = (r: AnyRoute, path: string, o: SendOptions = {}) =>
  send(r.method, path, {
    body: r.body?.(),
    contentType: r.contentType ?? "application/json",
    ...o,
    headers: { ...r.headers, ...o.headers },
  });

// ---------------------------------------------------------------------------------------------

describe("fuzz: request bodies", () => {
  for (const route of jsonRoutes()) {
    it(`${route.name}: any body the schema refuses is a 400 problem and writes nothing`, async () => {
      await noWrites(() =>
        fc.assert(
          fc.asyncProperty(
            invalidBody(route.schema, route.valid()),
            fc.option(
              fc.constantFrom("text/plain", "application/xml", "", "application/json; charset=latin1"),
            ),
            fc.option(headerValue(40)),
            async (text, ct, correlation) => {
              const r = await send(route.method, route.path(), {
                body: text,
                contentType: ct ?? "application/json",
                auth: route.internal ? internalAuth : undefined,
                headers: correlation === null ? {} : { "x-correlation-id": correlation },
              });
              // A generated body can exceed 1 MiB: the size limit answers before the schema does.
              const oversized = Buffer.byteLength(text) > 1024 * 1024;
              expectProblem(r, [oversized ? 413 : 400]);
              expect(r.body.code).toBe(oversized ? "PAYLOAD_TOO_LARGE" : "VALIDATION_FAILED");
            },
          ),
          runs(),
        ),
      );
    });
  }

  it("a JSON body over 1 MiB is 413 PAYLOAD_TOO_LARGE on every JSON command route", async () => {
    await noWrites(async () => {
      for (const route of jsonRoutes().filter((r) => !r.internal)) {
        const big = JSON.stringify({ ...route.valid(), pad: "x".repeat(MiB) });
        const r = await rawSend("POST", route.path(), big, {
          authorization: `Bearer ${sup}`,
          "idempotency-key": uuidv7(),
          "content-type": "application/json",
        });
        expectProblem(r, [413]);
        expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
      }
    });
  });

  it("a chunked body (no Content-Length) over 1 MiB is 413 too", async () => {
    await noWrites(async () => {
      const r = await rawSend(
        "POST",
        `/v1/tenants/${t.tenantId}/cases`,
        JSON.stringify({ ...newCase, summary: "y".repeat(MiB + 10) }),
        { authorization: `Bearer ${sup}`, "idempotency-key": uuidv7(), "content-type": "application/json" },
        true,
      );
      expectProblem(r, [413]);
      expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
    });
  });

  it("evidence over EVIDENCE_MAX_BYTES is 413 and leaves no blob", async () => {
    await noWrites(async () => {
      const r = await rawSend(
        "POST",
        `/v1/tenants/${t.tenantId}/cases/${caseId}/evidence`,
        Buffer.alloc(EVIDENCE_MAX + 1, 7),
        {
          authorization: `Bearer ${sup}`,
          "idempotency-key": uuidv7(),
          "content-type": "application/octet-stream",
          ...evidenceOk,
        },
      );
      expectProblem(r, [413]);
      expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
    });
  });

  it("POST evidence: empty bytes are a 400, whatever the (valid) headers", async () => {
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom("text/plain", "application/pdf", "image/png; q=1"), async (ct) => {
          const r = await send("POST", `/v1/tenants/${t.tenantId}/cases/${caseId}/evidence`, {
            body: new Uint8Array(0),
            contentType: ct,
            headers: evidenceOk,
          });
          expectProblem(r, [400]);
        }),
        runs(10),
      ),
    );
  });
});

/**
 * Oversized requests go over a fresh connection that is closed afterwards: the server answers 413
 * before reading the body and then drops the socket, which a keep-alive pool (fetch) would reuse.
 */
function rawSend(
  method: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
  chunked = false,
): Promise<Reply> {
  const url = new URL(path, h.cell.url);
  const payload = typeof body === "string" ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        agent: false,
        headers: {
          ...headers,
          connection: "close",
          ...(chunked ? { "transfer-encoding": "chunked" } : { "content-length": String(payload.length) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({
            status: res.statusCode ?? 0,
            contentType: (res.headers["content-type"] as string | undefined) ?? null,
            text,
            body: parsed,
          });
        });
        res.on("error", reject);
      },
    );
    // The server may answer and close before the whole body is written; that is fine here.
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE" && e.code !== "ECONNRESET") reject(e);
    });
    if (chunked) {
      const step = 64 * 1024;
      for (let i = 0; i < payload.length; i += step) req.write(payload.subarray(i, i + step));
      req.end();
    } else req.end(payload);
  });
}

/** Which of tenantId (T), caseId (C), taskId (K) a route's path has. */
const slotsOf = (route: AnyRoute) =>
  route
    .path({ tenantId: "T", caseId: "C", taskId: "K" })
    .match(/\/(T|C|K)(?=\/|$)/g)!
    .map((s) => s.slice(1) as "T" | "C" | "K");

describe("fuzz: path parameters", () => {
  for (const route of caseRoutes()) {
    it(`${route.name}: a bad or unknown tenantId/caseId/taskId is a 4xx and writes nothing`, async () => {
      const slot = fc.constantFrom(...slotsOf(route));
      await noWrites(() =>
        fc.assert(
          fc.asyncProperty(slot, badSegment, async (which, seg) => {
            const p = ids();
            const value = enc(seg);
            const path = route.path({
              tenantId: which === "T" ? value : p.tenantId,
              caseId: which === "C" ? value : p.caseId,
              taskId: which === "K" ? value : p.taskId,
            });
            const r = await sendRoute(route, path);
            // 400 malformed id; 403 another tenant's id; 404 unknown case/task or no such route.
            expectProblem(r, [400, 403, 404]);
            if (which === "T" && uuidSchema.safeParse(asServerSees(seg)).success) expect(r.status).toBe(403);
          }),
          runs(80),
        ),
      );
    });
  }
});

describe("malformed percent-encoding in paths and queries", () => {
  const raws = ["%", "%zz", "%E0%A4%A", "%00", "%C0%AF", "%ED%A0%80", "%FF", "a%2Fb", "%2e%2e%2fx"];
  for (const route of caseRoutes()) {
    it(`${route.name}: raw malformed escapes in any id, or in the query, are a 4xx`, async () => {
      await noWrites(async () => {
        for (const raw of raws) {
          for (const which of slotsOf(route)) {
            const p = ids();
            const path = route.path({
              tenantId: which === "T" ? raw : p.tenantId,
              caseId: which === "C" ? raw : p.caseId,
              taskId: which === "K" ? raw : p.taskId,
            });
            expectProblem(await sendRoute(route, path), [400, 403, 404]);
          }
          // GET audit takes no query, and ignores one.
          if (route.name === "GET cases" || route.name === "GET case") {
            const q =
              route.name === "GET cases" ? `status=${raw}&limit=${raw}&cursor=${raw}` : `consistency=${raw}`;
            expectProblem(await sendRoute(route, `${route.path(ids())}?${q}`), [400]);
          }
        }
      });
    });
  }
});

describe("fuzz: query strings", () => {
  const qs = (entries: [string, string][]) =>
    entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  const queryValue = fc.oneof(
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.constantFrom("0", "-1", "201", "1.5", "1e3", "NaN", "Infinity", "", " ", "0x10", "intake", "CLOSED "),
    fc.integer({ min: -1000, max: 1000 }).map(String),
    // Long, but the whole URL stays under Node's 16 KiB header limit (which answers a bare 431).
    hugeString.map((s) => s.slice(0, 400)),
  );
  const queryKey = fc.oneof(
    fc.constantFrom("status", "cursor", "limit", "consistency", "Status", "LIMIT", "__proto__", "a[b]"),
    // Hono drops a parameter with an empty name, so the oracle could not judge one.
    fc.string({ minLength: 1, maxLength: 10 }),
  );
  const query = fc.uniqueArray(fc.tuple(queryKey, queryValue), {
    minLength: 1,
    maxLength: 4,
    selector: ([k]) => k,
  });

  /** Mirrors the list route: schema, then the cursor decoding of cases/read.ts. */
  function listRefuses(q: Record<string, string>): boolean {
    const parsed = listCasesQuery.safeParse(q);
    if (!parsed.success) return true;
    const cursor = parsed.data.cursor;
    if (!cursor) return false;
    const raw = Buffer.from(cursor, "base64url").toString("utf8");
    return !(raw.startsWith("c1:") && UUID_RE.test(raw.slice(3)));
  }
  const asObject = (entries: [string, string][]) =>
    Object.fromEntries(entries.map(([k, v]) => [asServerSees(k), asServerSees(v)]));

  it("GET cases: a status/cursor/limit the contract refuses is a 400", async () => {
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          query.filter((e) => listRefuses(asObject(e))),
          async (entries) => {
            const r = await send("GET", `/v1/tenants/${t.tenantId}/cases?${qs(entries)}`);
            expectProblem(r, [400]);
          },
        ),
        runs(120),
      ),
    );
  });

  it("GET cases: a cursor this API never issued is a 400", async () => {
    const forged = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 60 }).map((s) => Buffer.from(`c1:${s}`).toString("base64url")),
      fc.uuid().map((u) => Buffer.from(`c2:${u}`).toString("base64url")),
      fc.uuid().map((u) => Buffer.from(`c1:${u}x`).toString("base64url")),
      fc.uuid().map((u) => Buffer.from(`c1:${u}`).toString("hex")),
    );
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          forged.filter((c) => listRefuses({ cursor: asServerSees(c) })),
          async (cursor) => {
            const r = await send("GET", `/v1/tenants/${t.tenantId}/cases?${qs([["cursor", cursor]])}`);
            expectProblem(r, [400]);
            expect(r.body.code).toBe("VALIDATION_FAILED");
          },
        ),
        runs(80),
      ),
    );
  });

  it("GET case: a consistency level (or other query) the contract refuses is a 400", async () => {
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          query.filter((e) => !getCaseQuery.safeParse(asObject(e)).success),
          async (entries) => {
            const r = await send("GET", `/v1/tenants/${t.tenantId}/cases/${caseId}?${qs(entries)}`);
            expectProblem(r, [400]);
          },
        ),
        runs(80),
      ),
    );
  });
});

describe("fuzz: headers", () => {
  const commands = () => caseRoutes().filter((r) => r.method === "POST");

  it("every command: a missing or non-UUID Idempotency-Key is a 400", async () => {
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...commands()),
          fc.option(notAUuid, { nil: null, freq: 5 }),
          async (route, key) => {
            const r = await sendRoute(route, route.path(ids()), { key });
            expectProblem(r, [400]);
            expect(r.body.code).toBe("VALIDATION_FAILED");
          },
        ),
        runs(120),
      ),
    );
  });

  it("every command: an X-Region-Epoch that is malformed or not current is a 400/409", async () => {
    const epochs = fc
      .oneof(
        headerValue(20),
        fc.constantFrom("0", "-1", "01", "1.0", "1e0", "+1", "0x1", "2", "99999999999999999999", "1 1"),
        fc.bigInt({ min: 2n, max: 10n ** 20n }).map(String),
      )
      .filter((e) => e !== "1");
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...commands()), epochs, async (route, epoch) => {
          const r = await sendRoute(route, route.path(ids()), { headers: { "x-region-epoch": epoch } });
          expectProblem(r, [400, 409]);
          expect(["VALIDATION_FAILED", "STALE_REGION_EPOCH"]).toContain(r.body.code);
          if (r.status === 409) expect(r.body).toMatchObject({ homeRegion: "ap-id", currentEpoch: 1 });
        }),
        runs(120),
      ),
    );
  });

  it("POST evidence: a Content-Type or X-Evidence-Filename the contract refuses is a 400, no blob", async () => {
    const contentType = fc.option(
      fc.oneof(
        headerValue(40),
        fc.constantFrom("text", "/plain", "text/", "text plain", "text/plain/x", "*/*;", "a/b c"),
        fc.constantFrom("text/plain", "application/pdf", "image/png; name=x"),
      ),
      { nil: null, freq: 6 },
    );
    const filename = fc.option(
      fc.oneof(
        headerValue(40),
        fc.constantFrom("", "a/b.txt", "..\\x.txt", "/etc/passwd", "../../etc/passwd", "C:\\x"),
        fc.integer({ min: 256, max: 2000 }).map((n) => "f".repeat(n)),
        fc.constantFrom("note.txt", "été.pdf"),
      ),
      { nil: null, freq: 6 },
    );
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          fc.tuple(contentType, filename).filter(
            ([ct, fn]) =>
              !evidenceHeaders.safeParse({
                "content-type": ct ?? undefined,
                "x-evidence-filename": fn ?? undefined,
              }).success,
          ),
          fc.uint8Array({ minLength: 1, maxLength: 512 }),
          async ([ct, fn], bytes) => {
            const r = await send("POST", `/v1/tenants/${t.tenantId}/cases/${caseId}/evidence`, {
              body: bytes,
              contentType: ct,
              headers: fn === null ? {} : { "x-evidence-filename": fn },
            });
            expectProblem(r, [400]);
            expect(r.body.code).toBe("VALIDATION_FAILED");
          },
        ),
        runs(120),
      ),
    );
  });

  it("every case route: a missing or garbage Authorization is a 401", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const auth = fc.option(
      fc.oneof(
        headerValue(80),
        headerValue(80).map((s) => `Bearer ${s}`),
        fc.constantFrom(
          "Bearer",
          "Bearer ",
          "Basic dXNlcjpwYXNz",
          `Bearer ${INTERNAL_TOKEN}`,
          "Bearer a.b.c",
        ),
        fc
          .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), headerValue(20))
          .map(([hd, pl, sig]) => `Bearer ${b64(JSON.stringify(hd))}.${b64(JSON.stringify(pl))}.${b64(sig)}`),
      ),
      { nil: null, freq: 6 },
    );
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...caseRoutes()), auth, async (route, a) => {
          const r = await sendRoute(route, route.path(ids()), { auth: a });
          expectProblem(r, [401]);
          expect(r.body.code).toBe("UNAUTHENTICATED");
        }),
        runs(120),
      ),
    );
  });
});

describe("fuzz: internal control routes", () => {
  const internalRoutes = [
    "PUT /internal/v1/tenants/:tenantId",
    "PUT /internal/v1/fences/:scope",
    "PUT /internal/v1/tenants/:tenantId/grants/:userId/:role",
    "GET /internal/v1/fences",
  ] as const;

  it("without the exact INTERNAL_TOKEN every internal route is a 401", async () => {
    const wrong = fc
      .option(
        fc.oneof(
          headerValue(60),
          headerValue(60).map((s) => `Bearer ${s}`),
          fc.constantFrom(
            INTERNAL_TOKEN,
            `bearer ${INTERNAL_TOKEN}`,
            `Bearer ${INTERNAL_TOKEN}x`,
            `Bearer ${INTERNAL_TOKEN.slice(0, -1)}`,
            `Bearer  ${INTERNAL_TOKEN}`,
            `Bearer ${INTERNAL_TOKEN.toUpperCase()}`,
            `Bearer ${sup}`,
          ),
        ),
        { nil: null, freq: 6 },
      )
      .filter((a) => a !== internalAuth);
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...internalRoutes), wrong, async (route, auth) => {
          const [method, template] = route.split(" ") as ["GET" | "PUT", string];
          const path = template
            .replace(":tenantId", t.tenantId)
            .replace(":scope", `tenant:${t.tenantId}`)
            .replace(":userId", uuidv7())
            .replace(":role", "tenant_admin");
          const body =
            route === "PUT /internal/v1/tenants/:tenantId"
              ? JSON.stringify({
                  name: "x",
                  homeRegion: "eu",
                  status: "SUSPENDED",
                  residencyPolicy: "EU_GDPR",
                })
              : route === "PUT /internal/v1/fences/:scope"
                ? JSON.stringify({ activeRegion: "eu", epoch: 5, status: "FENCED" })
                : undefined;
          const r = await send(method, path, { auth, body, key: null });
          expectProblem(r, [401]);
          expect(r.body.code).toBe("UNAUTHENTICATED");
        }),
        runs(100),
      ),
    );
  });

  it("PUT tenants/:tenantId and fences/:scope with a bad path parameter are a 400", async () => {
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(fc.boolean(), badSegment, async (tenantRoute, seg) => {
          const seen = asServerSees(seg);
          fc.pre(tenantRoute ? !uuidSchema.safeParse(seen).success : !fenceScope.safeParse(seen).success);
          const r = tenantRoute
            ? await send("PUT", `/internal/v1/tenants/${enc(seg)}`, {
                auth: internalAuth,
                key: null,
                body: JSON.stringify({
                  name: "x",
                  homeRegion: "ap-id",
                  status: "ACTIVE",
                  residencyPolicy: "ID_STRICT",
                }),
              })
            : await send("PUT", `/internal/v1/fences/${enc(seg)}`, {
                auth: internalAuth,
                key: null,
                body: JSON.stringify({ activeRegion: "ap-id", epoch: 1, status: "WRITABLE" }),
              });
          expectProblem(r, [400, 404]);
        }),
        runs(100),
      ),
    );
  });

  it("PUT grants/:tenantId/:userId/:role with any bad parameter is a 400", async () => {
    const role = fc.oneof(
      fc.constantFrom("reporter", "tenant_admin", "auditor"),
      fc.constantFrom("ops", "admin", "Reporter", "TENANT_ADMIN", "root", ""),
      fc.string({ maxLength: 16 }),
    );
    const id = fc.oneof(fc.constant("<ok>"), badSegment);
    await noWrites(() =>
      fc.assert(
        fc.asyncProperty(
          fc
            .tuple(id, id, role)
            .map(([tid, uid, rl]) => ({
              tenantId: tid === "<ok>" ? t.tenantId : tid,
              userId: uid === "<ok>" ? uuidv7() : uid,
              role: rl,
            }))
            .filter(
              (p) =>
                !grantParams.safeParse({
                  tenantId: asServerSees(p.tenantId),
                  userId: asServerSees(p.userId),
                  role: asServerSees(p.role),
                }).success,
            ),
          async (p) => {
            const r = await send(
              "PUT",
              `/internal/v1/tenants/${enc(p.tenantId)}/grants/${enc(p.userId)}/${enc(p.role)}`,
              { auth: internalAuth, key: null },
            );
            expectProblem(r, [400, 404]);
          },
        ),
        runs(100),
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Regressions for what fuzzing found (fixed in the contracts and the service kit): NUL and lone
// surrogates in free text, a year-0 dueAt, and unbounded bodies on internal routes once reached
// PostgreSQL or memory. Each must now be a 4xx; the companion test pins that nothing is written.

describe("regressions found by fuzzing", () => {
  let b: TenantFixture;
  let bCase: string;
  let pendingCase: string;
  beforeAll(async () => {
    b = await setupTenant(h);
    bCase = (await createCase(h, b)).caseId;
    const c = await createCase(h, b);
    let v = c.version;
    for (const to of ["TRIAGE", "INVESTIGATING", "UNDER_REVIEW", "DECISION_PENDING"]) {
      const r = await call(
        h,
        "POST",
        `/v1/tenants/${b.tenantId}/cases/${c.caseId}/transitions`,
        { to, expectedVersion: v, reason: "walk" },
        { token: b.users.supervisor!.token },
      );
      if (r.status !== 200) throw new Error(`walk failed: ${r.status}`);
      v = r.body.version;
    }
    pendingCase = c.caseId;
  });

  // Free text that passes the zod schemas but PostgreSQL refuses: U+0000 in `text` and `jsonb`,
  // and a lone UTF-16 surrogate escaped in `jsonb` (event payload, command_log response).
  const cases = (text: string): [string, () => [string, string, unknown]][] => [
    ["POST cases summary", () => ["POST", `/v1/tenants/${b.tenantId}/cases`, { ...newCase, summary: text }]],
    [
      "POST tasks title",
      () => [
        "POST",
        `/v1/tenants/${b.tenantId}/cases/${bCase}/tasks`,
        { title: text, assigneeId: b.users.investigator!.userId },
      ],
    ],
    [
      "POST transitions reason",
      () => [
        "POST",
        `/v1/tenants/${b.tenantId}/cases/${bCase}/transitions`,
        { to: "TRIAGE", expectedVersion: 1, reason: text },
      ],
    ],
    [
      "POST review-recommendations rationale",
      () => [
        "POST",
        `/v1/tenants/${b.tenantId}/cases/${bCase}/review-recommendations`,
        { recommendation: "ESCALATE", rationale: text },
      ],
    ],
    [
      "POST decision rationale",
      () => [
        "POST",
        `/v1/tenants/${b.tenantId}/cases/${pendingCase}/decision`,
        { outcome: "NO_VIOLATION", expectedVersion: 5, rationale: text },
      ],
    ],
  ];
  const bugInputs: [string, [string, () => [string, string, unknown]][]][] = [
    ["BUG-1 U+0000 (NUL)", cases("before\u0000after")],
    ["BUG-2 lone surrogate \\ud800", cases("before\ud800after")],
    [
      "BUG-3 dueAt in year 0000",
      [
        [
          "POST tasks dueAt",
          () => [
            "POST",
            `/v1/tenants/${b.tenantId}/cases/${bCase}/tasks`,
            { title: "t", assigneeId: b.users.investigator!.userId, dueAt: "0000-01-01T00:00:00Z" },
          ],
        ],
        [
          "POST tasks dueAt (offset lands in year 0)",
          () => [
            "POST",
            `/v1/tenants/${b.tenantId}/cases/${bCase}/tasks`,
            { title: "t", assigneeId: b.users.investigator!.userId, dueAt: "0001-01-01T00:00:00+01:00" },
          ],
        ],
      ],
    ],
  ];

  const fire = async (spec: () => [string, string, unknown]) => {
    const [method, path, body] = spec();
    return send(method, path, { auth: `Bearer ${b.users.supervisor!.token}`, body: JSON.stringify(body) });
  };

  for (const [bug, list] of bugInputs) {
    for (const [name, spec] of list) {
      it(`${bug}: ${name} is refused with a 4xx, not a 500`, async () => {
        const r = await fire(spec);
        expect(r.status).toBeLessThan(500);
      });
      it(`${bug}: ${name}: the failure still leaks no stack trace and writes nothing`, async () => {
        const before = await snapshot();
        const r = await fire(spec);
        expect(await snapshot()).toEqual(before);
        if (r.status >= 500) {
          expect(r.contentType).toMatch(/^application\/problem\+json/);
          expect(r.body).toMatchObject({ status: 500, code: "INTERNAL", detail: "internal error" });
          expect(r.text).not.toMatch(STACK_RE);
          expect(r.text).not.toMatch(/invalid byte sequence|surrogate|out of range|22021|22P05|22008/i);
        }
      });
    }
  }

  // BUG-4: the control routes now share the service-wide 1 MiB body limit.
  for (const route of jsonRoutes().filter((r) => r.internal)) {
    it(`BUG-4 ${route.name}: a body over 1 MiB is refused with 413`, async () => {
      const big = JSON.stringify({ ...route.valid(), pad: "x".repeat(MiB) });
      const r = await rawSend("PUT", route.path(), big, {
        authorization: internalAuth,
        "content-type": "application/json",
      });
      expect(r.status).toBe(413);
    });
  }

  it("BUG-1 U+0000 (NUL): PUT internal tenants name is refused with 400", async () => {
    const r = await send("PUT", `/internal/v1/tenants/${uuidv7()}`, {
      auth: internalAuth,
      key: null,
      body: JSON.stringify({
        name: "a\u0000b",
        homeRegion: "ap-id",
        status: "ACTIVE",
        residencyPolicy: "ID_STRICT",
      }),
    });
    expect(r.status).toBeLessThan(500);
  });
});

describe("the write detector itself", () => {
  it("notices a write, so the properties above are not vacuous", async () => {
    const before = await snapshot();
    await createCase(h, t);
    const after = await snapshot();
    expect(after).not.toEqual(before);
    expect(after.regulatory_case).toBe(Number(before.regulatory_case) + 1);
    expect(after.command_log).toBe(Number(before.command_log) + 1);
  });
});
