/**
 * One step of a test file's teardown, bounded. Every assertion has run by then; a step that hangs
 * (a service whose stop waits on something a loaded machine is slow to give back) must not turn a
 * passing file into a failed hook. It is named on stderr, with how long it was given, so the hang
 * is still seen and can be fixed; the forked worker exits with the file and takes what is left.
 */
export async function teardownStep(name: string, stop: () => Promise<unknown>, ms = 30_000): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    stop().then(
      () => "done" as const,
      (e: unknown) => `failed: ${(e as Error).message}`,
    ),
    new Promise<"hung">((r) => {
      timer = setTimeout(() => r("hung"), ms);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "hung") console.error(`teardown: ${name} did not stop within ${ms} ms; left behind`);
  else if (outcome !== "done")
    console.error(`teardown: ${name} ${outcome} (after ${Date.now() - started} ms)`);
}
