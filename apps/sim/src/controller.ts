import { DomainError, problemOf } from "@homeroute/contracts";
import { Hono } from "hono";
import { z } from "zod";
import { FAULT_KINDS, type FaultRegistry } from "./faults.js";

export interface SimControls {
  faults: FaultRegistry;
  latencyProfile(): "realistic" | "none";
  setLatency(profile: "realistic" | "none"): void;
  status(): unknown;
  dashboardHtml(): string;
}

const faultBody = z.strictObject({
  target: z
    .string()
    .regex(/^(cell|db|relay|store):[a-z]{2}(-[a-z]{2,8})?$|^(nats|catalog|projector|warehouse)$/),
  kind: z.enum(FAULT_KINDS),
});
const latencyBody = z.strictObject({ profile: z.enum(["realistic", "none"]) });

function problem(e: unknown): Response {
  const p = e instanceof DomainError ? e.toProblem() : problemOf("INTERNAL", "internal error");
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { "content-type": "application/problem+json" },
  });
}

async function body<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await req.json();
  } catch {
    throw new DomainError("VALIDATION_FAILED", "the body is not valid JSON");
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new DomainError("VALIDATION_FAILED", "invalid body", {
      issues: r.error.issues.map((i) => ({ path: ["body", ...i.path.map(String)], message: i.message })),
    });
  }
  return r.data;
}

/** The simulation's control API (CONTRACT.md "Simulation"). Local only; no auth by design. */
export function simController(s: SimControls): Hono {
  const app = new Hono();
  app.onError((e) => problem(e));
  app.get("/sim/faults", (c) => c.json({ items: s.faults.list() }));
  app.post("/sim/faults", async (c) => {
    const b = await body(c.req.raw, faultBody);
    return c.json(await s.faults.inject(b.target, b.kind), 201);
  });
  app.delete("/sim/faults/:id", async (c) => c.json({ healed: await s.faults.heal(c.req.param("id")) }));
  app.get("/sim/latency", (c) => c.json({ profile: s.latencyProfile() }));
  app.post("/sim/latency", async (c) => {
    const b = await body(c.req.raw, latencyBody);
    s.setLatency(b.profile);
    return c.json({ profile: b.profile });
  });
  app.get("/sim/status", (c) => c.json(s.status()));
  app.get("/dashboard", (c) => c.html(s.dashboardHtml()));
  app.notFound(() => problem(new DomainError("NOT_FOUND", "no such route")));
  return app;
}
