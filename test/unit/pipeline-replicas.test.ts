import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplicas } from '../../src/pipelines/runtime/replicas';
import { waitFor } from '../support/wait';

/**
 * A replica as `pbx run --json` behaves when stopped by a signal: it says it started (a file named after its index),
 * and on SIGTERM prints its summary and exits 143, as a run interrupted does.
 */
const REPLICA = `
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const index = Number(process.env.PBX_REPLICA);
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify({ records: 100 + index, errors: index, deadLetters: 0, sent: { out: 10 }, wrote: {}, stoppedBy: 'interrupt' }));
  process.exitCode = 143;
  clearInterval(alive);
});
const alive = setInterval(() => undefined, 1000);
writeFileSync(join(process.argv[2], 'started-' + index), '');
`;

describe('pbx run --replicas N', () => {
  it('keeps the summary of each replica stopped by the interrupt, for the parent to add up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-replicas-'));
    const script = join(dir, 'replica.cjs');
    writeFileSync(script, REPLICA);
    const stop = new AbortController();
    const running = runReplicas({ replicas: 2, argv: [script, dir], signal: stop.signal, onNote: () => undefined });
    await waitFor(() => [0, 1].every((i) => existsSync(join(dir, `started-${i}`))), {
      what: 'both replicas to start',
      until: Boolean,
      timeout: 20_000,
    });
    stop.abort();
    const outcome = await running;
    const records = (outcome.summaries as Array<{ records: number }>).map((s) => s.records).sort();
    expect(records).toEqual([100, 101]);
    expect(outcome.restarts).toBe(0);
  });
});
