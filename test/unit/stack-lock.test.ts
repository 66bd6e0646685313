import { execa } from 'execa';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { settable } from '../../src/async';
import { InterruptedError, type UserError } from '../../src/cli/errors';
import { lockProject } from '../../src/stack/lock';

const project = `unit-lock-${process.pid}`;
const path = join(tmpdir(), `pbx-${project}.lock`);
const never = new AbortController().signal;

afterEach(() => rmSync(path, { force: true }));

describe('project lock', () => {
  it('is held with this process id and released', async () => {
    const lock = await lockProject(project, never, () => undefined);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('waits for a live holder, names it, and takes the lock when it is gone', async () => {
    const holder = execa('sleep', ['60']);
    writeFileSync(path, `${holder.pid}\n`);
    const waitedFor: number[] = [];
    const waiting = settable<void>();
    const taking = lockProject(project, never, (pid) => {
      waitedFor.push(pid);
      waiting.resolve();
    });
    await waiting.promise; // it found the holder alive, and waits
    holder.kill('SIGKILL');
    await holder.catch(() => undefined);
    writeFileSync(path, `${holder.pid}\n`); // still there after its holder ended: a crash
    const lock = await taking;
    expect(waitedFor).toEqual([holder.pid]);
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });

  it('takes over at once a lock whose process has died', async () => {
    const dead = execa('true');
    await dead;
    writeFileSync(path, `${dead.pid}\n`);
    const waitedFor: number[] = [];
    const lock = await lockProject(project, never, (pid) => waitedFor.push(pid));
    expect(waitedFor).toEqual([]);
    await lock.release();
  });

  it('stops waiting when interrupted, leaving the holder its lock', async () => {
    const holder = execa('sleep', ['5']);
    writeFileSync(path, `${holder.pid}\n`);
    const abort = new AbortController();
    const taking = lockProject(project, abort.signal, () => abort.abort());
    await expect(taking).rejects.toBeInstanceOf(InterruptedError);
    expect(readFileSync(path, 'utf8')).toBe(`${holder.pid}\n`);
    holder.kill();
    await holder.catch(() => undefined);
  });

  it('says so when a dead holder’s lock cannot be removed, instead of trying for ever', async () => {
    const dead = execa('true');
    await dead;
    writeFileSync(path, `${dead.pid}\n`);
    await execa('chattr', ['+i', path]); // immutable: not even root may remove it
    try {
      const error = await lockProject(project, never, () => undefined).catch((e: unknown) => e as UserError);
      expect(error).toMatchObject({ code: 'LOCK_STALE' });
      expect((error as UserError).nextSteps[0]).toContain(`rm ${path}`);
    } finally {
      await execa('chattr', ['-i', path]);
    }
  });

  it('does not remove a lock that another process took over', async () => {
    const lock = await lockProject(project, never, () => undefined);
    writeFileSync(path, '1\n'); // pid 1, alive: someone who thought us dead
    await lock.release();
    expect(readFileSync(path, 'utf8')).toBe('1\n');
  });
});
