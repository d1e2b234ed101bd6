import { readdir } from "node:fs/promises";
import { PERMISSIONS, type Permission, ROLES } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import { makeToken, makeUnsignedToken, TEST_JWT_SECRET } from "@homeroute/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CellHarness,
  call,
  countRows,
  createCase,
  INTERNAL_TOKEN,
  newCase,
  setupTenant,
  startCellHarness,
  type TenantFixture,
} from "./harness.js";

// Authentication (who are you) and authorization (may you, here) on every cell route:
// bad tokens are 401, another tenant's path is 403 without revealing whether it exists, a
// missing grant or a role without the permission is 403, and no refused write leaves a trace.

let h: CellHarness;
let a: TenantFixture; // the caller's tenant
let b: TenantFixture; // another tenant on the same cell
let ghost: string; // a tenant id nobody registered
let aCase: string;
let aTask: string;
let bCase: string;

beforeAll(async () => {
  h = await startCellHarness("auth");
  a = await setupTenant(h);
  b = await setupTenant(h);
  ghost = uuidv7();
  aCase = (await createCase(h, a)).caseId;
  bCase = (await createCase(h, b)).caseId;
  const task = await call(
    h,
    "POST",
    `/v1/tenants/${a.tenantId}/cases/${aCase}/tasks`,
    { title: "check", assigneeId: a.users.investigator!.userId },
    { token: a.users.supervisor!.token },
  );
  if (task.status !== 201) throw new Error(`task setup failed: ${task.status}`);
  aTask = task.body.taskId;
});
afterAll(() => h?.close());

// ---------------------------------------------------------------------------------------------

interface Route {
  name: string;
  method: "GET" | "POST";
  permission: Permission;
  path: (tenantId: string, caseId: string, taskId: string) => string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Every case route with a request that is valid in every respect but the credentials. */
const ROUTES: Route[] = [
  {
    name: "POST cases",
    method: "POST",
    permission: "case.create",
    path: (t) => `/v1/tenants/${t}/cases`,
    body: newCase,
  },
  { name: "GET cases", method: "GET", permission: "case.read", path: (t) => `/v1/tenants/${t}/cases` },
  {
    name: "GET case",
    method: "GET",
    permission: "case.read",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}`,
  },
  {
    name: "POST transitions",
    method: "POST",
    permission: "case.transition",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/transitions`,
    body: { to: "TRIAGE", expectedVersion: 1, reason: "triage" },
  },
  {
    name: "POST decision",
    method: "POST",
    permission: "case.decide",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/decision`,
    body: { outcome: "NO_VIOLATION", expectedVersion: 1, rationale: "nothing found" },
  },
  {
    name: "POST tasks",
    method: "POST",
    permission: "task.create",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/tasks`,
    body: { title: "interview", assigneeId: uuidv7() },
  },
  {
    name: "POST tasks/:taskId/complete",
    method: "POST",
    permission: "task.complete",
    path: (t, c, k) => `/v1/tenants/${t}/cases/${c}/tasks/${k}/complete`,
    body: { expectedVersion: 1 },
  },
  {
    name: "POST evidence",
    method: "POST",
    permission: "evidence.attach",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/evidence`,
    body: "scanned letter bytes",
    headers: { "content-type": "application/pdf", "x-evidence-filename": "letter.pdf" },
  },
  {
    name: "POST review-recommendations",
    method: "POST",
    permission: "review.recommend",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/review-recommendations`,
    body: { recommendation: "MORE_INVESTIGATION", rationale: "thin" },
  },
  {
    name: "GET audit",
    method: "GET",
    permission: "audit.read",
    path: (t, c) => `/v1/tenants/${t}/cases/${c}/audit`,
  },
];

const aPath = (r: Route) => r.path(a.tenantId, aCase, aTask);

/** Sends a route's request; `authorization` is the raw header (undefined: none at all). */
function hit(r: Route, path: string, authorization?: string) {
  const headers: Record<string, string> = { ...r.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  return call(h, r.method, path, r.body, { headers });
}

/** Everything a refused request must not have changed, for the given tenants. */
async function state(...tenantIds: string[]) {
  const out: Record<string, unknown> = {};
  for (const id of tenantIds) {
    const [extra] = await h.sql`
      SELECT (SELECT count(*)::int FROM evidence_object WHERE tenant_id = ${id}) AS evidence,
        (SELECT count(*)::int FROM review_recommendation WHERE tenant_id = ${id}) AS reviews,
        (SELECT coalesce(sum(version), 0)::int FROM regulatory_case WHERE tenant_id = ${id}) AS case_versions,
        (SELECT coalesce(sum(version), 0)::int FROM case_task WHERE tenant_id = ${id}) AS task_versions,
        (SELECT count(*)::int FROM authorization_grant WHERE tenant_id = ${id}) AS grants`;
    out[id] = { ...(await countRows(h, id)), ...extra };
  }
  const [control] = await h.sql`
    SELECT (SELECT count(*)::int FROM tenant_registration) AS tenants,
      (SELECT max(updated_at)::text FROM tenant_registration) AS tenants_updated,
      (SELECT count(*)::int FROM region_write_epoch) AS fences,
      (SELECT max(updated_at)::text FROM region_write_epoch) AS fences_updated,
      (SELECT count(*)::int FROM authorization_grant) AS grants,
      (SELECT count(*)::int FROM global_audit_event) AS audit`;
  const blobs = (await readdir(h.objectStoreDir, { withFileTypes: true, recursive: true })).filter((e) =>
    e.isFile(),
  ).length;
  return { ...out, control, blobs };
}

async function nothingWritten<T>(tenantIds: string[], run: () => Promise<T>): Promise<T> {
  const before = await state(...tenantIds);
  const result = await run();
  expect(await state(...tenantIds)).toEqual(before);
  return result;
}

type Reply = Awaited<ReturnType<typeof call>>;

function expectRefusal(r: Reply, status: number, code: string): void {
  const ctx = `${r.status} ${JSON.stringify(r.body)}`;
  expect(r.status, ctx).toBe(status);
  expect(r.headers.get("content-type"), ctx).toMatch(/^application\/problem\+json/);
  expect(r.body, ctx).toMatchObject({ status, code });
  expect(typeof r.body.type, ctx).toBe("string");
  expect(typeof r.body.title, ctx).toBe("string");
  expect(typeof r.body.detail, ctx).toBe("string");
  expect(JSON.stringify(r.body), ctx).not.toMatch(/\n\s+at |Error:|\.ts:\d+|node_modules/);
}

/** The answer with its per-request id removed, for "same answer" comparisons. */
const answer = (r: Reply) => {
  const { requestId: _requestId, ...body } = r.body;
  return { status: r.status, contentType: r.headers.get("content-type"), body };
};

// ---------------------------------------------------------------------------------------------

describe("authentication (401 UNAUTHENTICATED)", () => {
  const sub = () => a.users.supervisor!.userId;
  const now = () => Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

  /** Bad credentials, each for the supervisor of tenant A (who may do everything there). */
  const badCredentials: [string, () => Promise<string | undefined>][] = [
    ["no Authorization header", async () => undefined],
    ["an empty Authorization header", async () => ""],
    ["a Basic scheme", async () => `Basic ${Buffer.from("user:pass").toString("base64")}`],
    ["a bearer scheme with no token", async () => "Bearer "],
    ["a token without the Bearer scheme", async () => a.users.supervisor!.token],
    ["a non-JWT bearer token", async () => "Bearer not-a-jwt"],
    [
      "an alg:none token",
      async () =>
        `Bearer ${makeUnsignedToken({ sub: sub(), tid: a.tenantId, iss: "homeroute-dev", aud: "homeroute", exp: now() + 3600 })}`,
    ],
    [
      "an alg:NONE token with a stray signature",
      async () =>
        `Bearer ${b64({ alg: "NONE", typ: "JWT" })}.${b64({ sub: sub(), tid: a.tenantId, iss: "homeroute-dev", aud: "homeroute", exp: now() + 3600 })}.c2ln`,
    ],
    [
      "a token signed with a wrong key",
      async () =>
        `Bearer ${await makeToken({ sub: sub(), tid: a.tenantId, secret: "another-secret-that-is-at-least-32-bytes!!" })}`,
    ],
    [
      "a token with a tampered payload",
      async () => {
        const [hd, , sig] = a.users.supervisor!.token.split(".");
        return `Bearer ${hd}.${b64({ sub: sub(), tid: a.tenantId, iss: "homeroute-dev", aud: "homeroute", exp: now() + 86_400 })}.${sig}`;
      },
    ],
    [
      "an HS512 token (algorithm not pinned)",
      async () => `Bearer ${await makeToken({ sub: sub(), tid: a.tenantId, alg: "HS512" })}`,
    ],
    [
      "an expired token",
      async () => `Bearer ${await makeToken({ sub: sub(), tid: a.tenantId, expiresInSeconds: -5 })}`,
    ],
    [
      "a token from a wrong issuer",
      async () => `Bearer ${await makeToken({ sub: sub(), tid: a.tenantId, iss: "evil-idp" })}`,
    ],
    [
      "a token for a wrong audience",
      async () => `Bearer ${await makeToken({ sub: sub(), tid: a.tenantId, aud: "some-other-api" })}`,
    ],
    [
      "a token whose sub is not a user id",
      async () => `Bearer ${await makeToken({ sub: "admin", tid: a.tenantId })}`,
    ],
    ["the INTERNAL_TOKEN as a bearer token", async () => `Bearer ${INTERNAL_TOKEN}`],
  ];

  for (const [what, credential] of badCredentials) {
    it(`${what} is refused on every route, and nothing is written`, async () => {
      const auth = await credential();
      await nothingWritten([a.tenantId], async () => {
        for (const r of ROUTES) expectRefusal(await hit(r, aPath(r), auth), 401, "UNAUTHENTICATED");
      });
    });
  }

  it("every invalid token gets the same answer: the reason (expired, signature, ...) stays server-side", async () => {
    // Tokens that fail verification; a verified token with malformed claims may say so.
    const tokenCases = badCredentials.filter(([w]) =>
      /non-JWT|alg:|wrong key|tampered|HS512|expired|issuer|audience|INTERNAL_TOKEN/.test(w),
    );
    expect(tokenCases).toHaveLength(10);
    const answers = [];
    for (const [, credential] of tokenCases) {
      answers.push(answer(await hit(ROUTES[1]!, aPath(ROUTES[1]!), await credential())));
    }
    for (const x of answers.slice(1)) expect(x).toEqual(answers[0]);
  });

  it("authentication comes before existence: an unknown tenant or case is 401, not 404", async () => {
    await nothingWritten([a.tenantId], async () => {
      for (const r of ROUTES) {
        for (const path of [r.path(ghost, uuidv7(), uuidv7()), r.path(a.tenantId, uuidv7(), uuidv7())]) {
          expectRefusal(await hit(r, path), 401, "UNAUTHENTICATED");
          expectRefusal(await hit(r, path, "Bearer x.y.z"), 401, "UNAUTHENTICATED");
        }
      }
    });
  });
});

describe("tenant isolation (403 FORBIDDEN, no existence leak)", () => {
  it("a token for tenant A is refused on tenant B's paths, the same whether B exists or not", async () => {
    const token = `Bearer ${a.users.supervisor!.token}`;
    await nothingWritten([a.tenantId, b.tenantId], async () => {
      for (const r of ROUTES) {
        const existing = await hit(r, r.path(b.tenantId, bCase, uuidv7()), token);
        const missing = await hit(r, r.path(ghost, uuidv7(), uuidv7()), token);
        const ownCaseInB = await hit(r, r.path(b.tenantId, aCase, aTask), token);
        expectRefusal(existing, 403, "FORBIDDEN");
        expectRefusal(missing, 403, "FORBIDDEN");
        expectRefusal(ownCaseInB, 403, "FORBIDDEN");
        expect(answer(existing), r.name).toEqual(answer(missing));
        expect(answer(existing), r.name).toEqual(answer(ownCaseInB));
        expect(JSON.stringify(existing.body)).not.toContain(b.tenantId);
        expect(JSON.stringify(existing.body)).not.toContain(bCase);
      }
    });
  });

  it("B's case is not reachable through A's path either (unknown there, no hint it exists)", async () => {
    const token = `Bearer ${a.users.supervisor!.token}`;
    await nothingWritten([a.tenantId, b.tenantId], async () => {
      for (const r of ROUTES.filter((x) => /\/C(\/|$)/.test(x.path("T", "C", "K")))) {
        const other = await hit(r, r.path(a.tenantId, bCase, uuidv7()), token);
        const random = await hit(r, r.path(a.tenantId, uuidv7(), uuidv7()), token);
        expectRefusal(other, 404, "NOT_FOUND");
        expect(answer(other), r.name).toEqual(answer(random));
      }
    });
  });

  it("a token without a tenant (tid) is refused on every tenant route", async () => {
    const token = `Bearer ${await makeToken({ sub: a.users.supervisor!.userId })}`;
    await nothingWritten([a.tenantId], async () => {
      for (const r of ROUTES) expectRefusal(await hit(r, aPath(r), token), 403, "FORBIDDEN");
    });
  });

  it("a path tenant id spelled differently (upper case) is not the token's tenant", async () => {
    const token = `Bearer ${a.users.supervisor!.token}`;
    await nothingWritten([a.tenantId], async () => {
      for (const r of ROUTES) {
        expectRefusal(await hit(r, r.path(a.tenantId.toUpperCase(), aCase, aTask), token), 403, "FORBIDDEN");
      }
    });
  });
});

describe("authorization by grants (403 FORBIDDEN)", () => {
  it("a valid token for a user with no grant in the tenant is refused everywhere", async () => {
    const token = `Bearer ${await makeToken({ sub: uuidv7(), tid: a.tenantId })}`;
    await nothingWritten([a.tenantId], async () => {
      for (const r of ROUTES) expectRefusal(await hit(r, aPath(r), token), 403, "FORBIDDEN");
    });
  });

  it("B's supervisor with a token naming tenant A holds no grant in A", async () => {
    const token = `Bearer ${await makeToken({ sub: b.users.supervisor!.userId, tid: a.tenantId })}`;
    await nothingWritten([a.tenantId, b.tenantId], async () => {
      for (const r of ROUTES) expectRefusal(await hit(r, aPath(r), token), 403, "FORBIDDEN");
    });
  });

  it("an operator token (ops: true) gets no tenant rights at the cell", async () => {
    const token = `Bearer ${await makeToken({ sub: uuidv7(), tid: a.tenantId, ops: true })}`;
    await nothingWritten([a.tenantId], async () => {
      for (const r of ROUTES) expectRefusal(await hit(r, aPath(r), token), 403, "FORBIDDEN");
    });
  });

  // Every (route, role) pair the permission table does not allow, derived from PERMISSIONS.
  for (const r of ROUTES) {
    const allowed: readonly string[] = PERMISSIONS[r.permission];
    for (const role of ROLES.filter((x) => !allowed.includes(x))) {
      it(`${role} may not ${r.permission} (${r.name}): 403, nothing written`, async () => {
        await nothingWritten([a.tenantId], async () => {
          const res = await hit(r, aPath(r), `Bearer ${a.users[role]!.token}`);
          expectRefusal(res, 403, "FORBIDDEN");
          expect(res.body.detail).toContain(r.permission);
        });
      });
    }
  }

  it("named cases: reporter transition, investigator decision, reporter audit read", async () => {
    const byName = (n: string) => ROUTES.find((r) => r.name === n)!;
    await nothingWritten([a.tenantId], async () => {
      for (const [route, role] of [
        ["POST transitions", "reporter"],
        ["POST decision", "investigator"],
        ["GET audit", "reporter"],
      ] as const) {
        const r = byName(route);
        expectRefusal(await hit(r, aPath(r), `Bearer ${a.users[role]!.token}`), 403, "FORBIDDEN");
      }
    });
  });

  it("a refused command's Idempotency-Key is not burnt: the same key works for an allowed caller", async () => {
    const c = await createCase(h, a);
    const key = uuidv7();
    const path = `/v1/tenants/${a.tenantId}/cases/${c.caseId}/transitions`;
    const body = { to: "TRIAGE", expectedVersion: c.version, reason: "go" };
    const refused = await call(h, "POST", path, body, { token: a.users.reporter!.token, key });
    expectRefusal(refused, 403, "FORBIDDEN");
    const ok = await call(h, "POST", path, body, { token: a.users.investigator!.token, key });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.headers.get("idempotent-replayed")).toBeNull();
  });
});

describe("happy paths: the right role with a good token", () => {
  it("the write detector notices a write (so the refusal checks are not vacuous)", async () => {
    const before = await state(a.tenantId);
    await createCase(h, a);
    expect(await state(a.tenantId)).not.toEqual(before);
  });

  it("every route answers 2xx for a role the permission table allows", async () => {
    const c = await createCase(h, a);
    const token = (role: string) => `Bearer ${a.users[role]!.token}`;
    const base = `/v1/tenants/${a.tenantId}`;
    const post = (path: string, body: unknown, role: string, headers: Record<string, string> = {}) =>
      call(h, "POST", `${base}${path}`, body, { headers: { ...headers, authorization: token(role) } });
    const get = (path: string, role: string) =>
      call(h, "GET", `${base}${path}`, undefined, { headers: { authorization: token(role) } });

    expect((await post("/cases", newCase, "reporter")).status).toBe(201);
    expect((await get("/cases", "reviewer")).status).toBe(200);
    expect((await get(`/cases/${c.caseId}`, "auditor")).status).toBe(200);
    const task = await post(
      `/cases/${c.caseId}/tasks`,
      { title: "call", assigneeId: a.users.investigator!.userId },
      "investigator",
    );
    expect(task.status).toBe(201);
    const done = await post(
      `/cases/${c.caseId}/tasks/${task.body.taskId}/complete`,
      { expectedVersion: 1 },
      "supervisor",
    );
    expect(done.status).toBe(200);
    const ev = await post(`/cases/${c.caseId}/evidence`, "bytes", "reporter", {
      "content-type": "text/plain",
      "x-evidence-filename": "a.txt",
    });
    expect(ev.status, JSON.stringify(ev.body)).toBe(201);
    const rec = await post(
      `/cases/${c.caseId}/review-recommendations`,
      { recommendation: "ESCALATE", rationale: "r" },
      "reviewer",
    );
    expect(rec.status).toBe(201);
    let v = c.version;
    for (const to of ["TRIAGE", "INVESTIGATING", "UNDER_REVIEW", "DECISION_PENDING"]) {
      const r = await post(
        `/cases/${c.caseId}/transitions`,
        { to, expectedVersion: v, reason: "next" },
        "investigator",
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      v = r.body.version;
    }
    const decided = await post(
      `/cases/${c.caseId}/decision`,
      { outcome: "NO_VIOLATION", expectedVersion: v, rationale: "clean" },
      "supervisor",
    );
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe("CLOSED_NO_VIOLATION");
    const audit = await get(`/cases/${c.caseId}/audit`, "tenant_admin");
    expect(audit.status).toBe(200);
    expect(audit.body.items.length).toBeGreaterThanOrEqual(9);
  });

  it("a token whose aud is a list containing homeroute is accepted", async () => {
    // jose's audience check accepts an array; makeToken only sets a string, so sign one here.
    const { SignJWT } = await import("jose");
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ tid: a.tenantId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(a.users.auditor!.userId)
      .setIssuer("homeroute-dev")
      .setAudience(["other", "homeroute"])
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const r = await call(h, "GET", `/v1/tenants/${a.tenantId}/cases`, undefined, {
      headers: { authorization: `Bearer ${jwt}` },
    });
    expect(r.status).toBe(200);
  });
});

describe("internal control routes (INTERNAL_TOKEN)", () => {
  const routes = () => [
    {
      method: "PUT",
      path: `/internal/v1/tenants/${a.tenantId}`,
      body: { name: "Hijacked", homeRegion: "eu", status: "SUSPENDED", residencyPolicy: "EU_GDPR" },
    },
    {
      method: "PUT",
      path: `/internal/v1/fences/tenant:${a.tenantId}`,
      body: { activeRegion: "eu", epoch: 7, status: "FENCED" },
    },
    { method: "PUT", path: `/internal/v1/tenants/${a.tenantId}/grants/${uuidv7()}/tenant_admin` },
    { method: "GET", path: "/internal/v1/fences" },
  ];
  const wrong: [string, () => string | undefined][] = [
    ["no Authorization header", () => undefined],
    ["an empty header", () => ""],
    ["the token without Bearer", () => INTERNAL_TOKEN],
    ["a wrong token", () => "Bearer not-the-internal-token-0123456789"],
    ["a prefix of the token", () => `Bearer ${INTERNAL_TOKEN.slice(0, -1)}`],
    ["the token plus a character", () => `Bearer ${INTERNAL_TOKEN}0`],
    ["a user's JWT (even a tenant_admin's)", () => `Bearer ${a.users.tenant_admin!.token}`],
    ["Basic with the token", () => `Basic ${Buffer.from(`x:${INTERNAL_TOKEN}`).toString("base64")}`],
  ];

  for (const [what, header] of wrong) {
    it(`${what} is 401 on every internal route, and nothing changes`, async () => {
      await nothingWritten([a.tenantId], async () => {
        for (const r of routes()) {
          const auth = header();
          const res = await call(h, r.method, r.path, r.body, {
            key: null,
            headers: auth === undefined ? {} : { authorization: auth },
          });
          expectRefusal(res, 401, "UNAUTHENTICATED");
        }
      });
      const [t] =
        await h.sql`SELECT status, home_region FROM tenant_registration WHERE tenant_id = ${a.tenantId}`;
      expect(t).toEqual({ status: "ACTIVE", home_region: "ap-id" });
    });
  }

  it("the right token is accepted", async () => {
    const r = await h.internal("GET", "/internal/v1/fences");
    expect(r.status).toBe(200);
    const body = (await r.json()) as { items: { scope: string }[] };
    expect(body.items.map((i) => i.scope)).toContain(`tenant:${a.tenantId}`);
  });
});
