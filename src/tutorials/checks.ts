// Running a step's check, and the words checks share: numbers as people read them, a service that does not answer
// reported as what was found.
import { ServiceDown, type Services } from './services';
import type { CheckResult, Step, StepContext } from './types';

/** 4211 → "4,211". */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** "1 review", "2 reviews". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${count(n)} ${n === 1 ? word : many}`;
}

/**
 * A replayed file's check: `topic` holds each of the file's `total` records once. More says some were sent twice,
 * and `twice` why ("a replay without the same --checkpoint"). The topic must be written by the replay alone: a
 * transaction's markers take offsets too.
 */
export async function replayedOnce(
  services: Services,
  options: { topic: string; total: number; expected: string; twice?: string },
): Promise<CheckResult> {
  const { topic, total, expected } = options;
  const records = (await services.topicRecords(topic)) ?? 0;
  const why = options.twice === undefined ? '' : ` (${options.twice})`;
  const twice = records > total ? `: some were sent twice${why}` : '';
  return {
    ok: records === total,
    expected,
    found: `${topic} holds ${count(records)} of ${count(total)} records${twice}`,
  };
}

/** Runs a step's check; whatever it throws (a service down, a table missing) is what it found, never a crash. */
export async function runCheck(step: Step, context: StepContext): Promise<CheckResult> {
  try {
    return await step.check(context);
  } catch (error) {
    const message =
      error instanceof ServiceDown ? error.message : `the check could not look: ${(error as Error).message}`;
    return { ok: false, expected: step.expects, found: message };
  }
}

/**
 * How a check reads to the learner: "✓ found" when it passed, "expected …; found …" when not (never only "not yet").
 */
export function checkLine(result: CheckResult): string {
  return result.ok ? result.found : `expected ${result.expected}; found ${result.found}`;
}

/** A Cassandra error that says a table or keyspace is not there ("unconfigured table x"). */
function isMissingTable(error: unknown): boolean {
  return /unconfigured table|does not exist|Keyspace .* does not exist/i.test((error as Error).message ?? '');
}

/** Asks until `check` passes, `timeoutMs` passes or `signal` aborts, every `everyMs` (default 1 s) at most. */
export async function pollCheck(
  step: Step,
  context: StepContext,
  options: { timeoutMs: number; signal?: AbortSignal; everyMs?: number; onResult?: (result: CheckResult) => void },
): Promise<CheckResult> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const started = Date.now();
    const result = await runCheck(step, context);
    options.onResult?.(result);
    if (result.ok || Date.now() >= deadline || options.signal?.aborted) return result;
    const wait = Math.max(0, (options.everyMs ?? 1000) - (Date.now() - started));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Cassandra's "no such table" as a finding: the schema was not applied. */
export function withSchema(check: (context: StepContext) => Promise<CheckResult>, expected: string) {
  return async (context: StepContext): Promise<CheckResult> => {
    try {
      return await check(context);
    } catch (error) {
      if (!isMissingTable(error)) throw error;
      return {
        ok: false,
        expected,
        found: `Cassandra: ${(error as Error).message} (is schema.cql applied? \`pbx up\`)`,
      };
    }
  };
}
