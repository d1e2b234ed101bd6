/**
 * A service started by the simulation exits when the simulation does, even if it was killed
 * without a chance to stop its children (no orphans holding ports).
 */
export function exitWhenParentDies(): void {
  const parent = Number(process.env.HOMEROUTE_PARENT_PID);
  if (!parent) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      process.exit(0);
    }
  }, 1000);
  timer.unref();
}
