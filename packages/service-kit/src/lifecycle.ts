/**
 * A service started by the simulation exits when the simulation does, even if it was killed
 * without a chance to stop its children (no orphans holding ports).
 */
export function exitWhenParentDies(): void {
  const parent = Number(process.env.HOMEROUTE_PARENT_PID);
  if (!parent) return;
  const timer = setInterval(() => {
    if (!isAlive(parent)) process.exit(0);
  }, 1000);
  timer.unref();
}

/** Whether a process runs; one owned by another user (EPERM) counts as running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
