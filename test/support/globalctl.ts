import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { repoRoot } from "./sim.js";

/** globalctl in its own process, as an operator runs it: its exit code and stdout, a failure's too. */
export async function runGlobalctl(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "apps/ops/src/globalctl.ts", ...args],
      { cwd: repoRoot, env },
    );
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, stdout: err.stdout };
  }
}
