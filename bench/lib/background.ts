/** Background load for a benchmark phase: the same async job, run back to back by a few loops until stopped. */

export interface BackgroundLoad {
  /** Lets every loop finish its current job and resolves to how many jobs completed in all. */
  stop(): Promise<number>;
}

/** Keeps `concurrency` copies of `runOne` running, each starting again as soon as it finishes. */
export function continuously(concurrency: number, runOne: () => Promise<unknown>): BackgroundLoad {
  let running = true;
  let completed = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      await runOne();
      completed++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return completed;
    },
  };
}
