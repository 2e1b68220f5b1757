/**
 * Cleanup that always runs to the end (issue 13): every step runs even when an earlier one throws (a browser that
 * will not close must not keep the server listening or the database open), then the first failure is thrown. Use it
 * in after() hooks that release more than one thing; a step may find its resource never created (`srv?.close()`),
 * since after() also runs when before() failed half way.
 */
export async function cleanUp(...steps: (() => unknown)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} cleanup steps failed`);
}
