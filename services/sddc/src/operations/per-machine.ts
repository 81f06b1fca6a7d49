/**
 * A workflow step's operations on its machines, run by one job (PerMachineOperation): at most
 * `concurrency` at once, each to its end even when another failed (a machine is never left
 * half-made because its neighbour failed), then the answers in order, or a failure that names
 * its machine. A failure that is not retryable wins, so that the job is not retried for nothing.
 */
import { asCxError, CxError } from '@cx/errors';
import type { OneOperation, PerMachineOperation } from '@cx/queue-contracts';

export async function runPerMachine(
  operation: PerMachineOperation,
  concurrency: number,
  run: (item: OneOperation) => Promise<unknown>,
): Promise<unknown[]> {
  const { items } = operation;
  const answers: unknown[] = new Array(items.length);
  const failures: CxError[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      try {
        answers[index] = await run(item.operation);
      } catch (error) {
        const cx = asCxError(error);
        failures.push(
          new CxError(cx.code, cx.message, {
            retryable: cx.retryable,
            details: { ...cx.details, machineId: item.machineId },
          }),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const failure = failures.find((f) => !f.retryable) ?? failures[0];
  if (failure) throw failure;
  return answers;
}
