import { DomainError, PROBLEM_CONTENT_TYPE, type Problem, problemOf } from "@homeroute/contracts";
import type { z } from "zod";

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  const h: Record<string, string> = { "content-type": PROBLEM_CONTENT_TYPE, ...headers };
  if (problem.retryAfterSeconds !== undefined) h["retry-after"] = String(problem.retryAfterSeconds);
  return new Response(JSON.stringify(problem), { status: problem.status, headers: h });
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new DomainError("VALIDATION_FAILED", `invalid ${where}`, {
      issues: r.error.issues.slice(0, 20).map((i) => ({
        path: [where, ...i.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
        message: i.message,
        code: i.code,
      })),
    });
  }
  return r.data;
}

export function parseJson(text: string): unknown {
  if (text.length === 0) throw new DomainError("VALIDATION_FAILED", "a JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError("VALIDATION_FAILED", "the body is not valid JSON", {
      issues: [{ path: ["body"], message: "not valid JSON" }],
    });
  }
}

export { problemOf };
