// Plays sessions the way an agent workload runs them, on a test's clock: in rounds, every
// session's next stage at once (its parallel steps together), then `between()`, where the
// test advances its clock by the tool time. Stage boundaries then come from the clock, not
// from how fast the machine answers.
export async function playInRounds<Step, Result>(
  sessions: ReadonlyArray<ReadonlyArray<ReadonlyArray<Step>>>,
  play: (session: number, step: Step, lastStage: boolean) => Promise<Result>,
  between: () => void,
): Promise<Result[][]> {
  const results = sessions.map((): Result[] => []);
  const rounds = Math.max(0, ...sessions.map((stages) => stages.length));
  for (let k = 0; k < rounds; k++) {
    await Promise.all(
      sessions.map(async (stages, i) => {
        const steps = stages[k];
        if (!steps) return;
        const done = await Promise.all(steps.map((step) => play(i, step, k === stages.length - 1)));
        results[i]?.push(...done);
      }),
    );
    between();
  }
  return results;
}
