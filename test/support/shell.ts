import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { CommandFailed } from '../../src/pipelines/shell';
import { rejectionOf } from './wait';

/** The processes whose command line holds `token` (from /proc; zombies have none), to show none is left behind. */
export function processesWith(token: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (command.includes(token)) found.push(`${pid} ${command}`);
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

/** A number of seconds no other test uses: a `sleep` with it can be found again in the process list. */
export function uniqueSeconds(): string {
  return `${600 + Math.floor(Math.random() * 1000)}.${process.pid}${Math.floor(Math.random() * 1e6)}`;
}

/** The CommandFailed a shell operator's batch rejected with (the test fails if it resolved or threw another error). */
export async function commandFailure(batch: Promise<unknown>): Promise<CommandFailed> {
  const error = await rejectionOf(batch);
  expect(error).toBeInstanceOf(CommandFailed);
  return error as CommandFailed;
}
