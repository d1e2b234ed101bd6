import { DomainError, PROBLEM_CONTENT_TYPE, type Problem, problemOf } from "@homeroute/contracts";
import type { Context } from "hono";
import type { z } from "zod";

/** Writes an RFC 9457 body; REGION_READ_ONLY and friends also get a Retry-After header. */
export function problemResponse(c: Context, problem: Problem): Response {
  const headers: Record<string, string> = { "content-type": PROBLEM_CONTENT_TYPE };
  if (problem.retryAfterSeconds !== undefined) headers["retry-after"] = String(problem.retryAfterSeconds);
  const requestId = c.get("requestId" as never) as string | undefined;
  c.set("problemCode" as never, problem.code as never);
  return new Response(JSON.stringify(requestId ? { ...problem, requestId } : problem), {
    status: problem.status,
    headers,
  });
}

export function validationError(error: z.ZodError, where: string): DomainError {
  return new DomainError("VALIDATION_FAILED", `invalid ${where}`, {
    issues: error.issues.slice(0, 20).map((i) => ({
      path: [where, ...i.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
      message: i.message,
      code: i.code,
    })),
  });
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, where);
  return r.data;
}

/** Reads a JSON body; a body that is not JSON is a 400, never a 500. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.length === 0) throw new DomainError("VALIDATION_FAILED", "a JSON body is required");
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError("VALIDATION_FAILED", "the body is not valid JSON", {
      issues: [{ path: ["body"], message: "not valid JSON" }],
    });
  }
}

export const internalProblem = () => problemOf("INTERNAL", "internal error");
