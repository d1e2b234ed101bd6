import type { z } from "zod";

/**
 * A service's environment through its zod schema (STYLE: zod at every boundary): every problem at
 * once, named by variable, so a misconfigured process says exactly what to fix before it starts.
 */
export function loadEnv<S extends z.ZodType>(
  service: string,
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`${service}: invalid environment\n${lines.join("\n")}`);
  }
  return parsed.data;
}
