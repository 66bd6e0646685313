import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../async';
import { InterruptedError, UserError } from '../cli/errors';
import { names } from '../docker/names';

const RETRY_MS = 100;
// A holder writes its pid as it creates the file; one still empty after this long died in between.
const EMPTY_STALE_MS = 5000;

export interface ProjectLock {
  release(): Promise<void>;
}

/**
 * Makes one `pbx up` at a time change a project on this machine: a second one waits for the first and then finds
 * its work done. Two at once raced each other to the engine, which made two networks of one name and refused the
 * second's containers. A lock left by a process that died is taken over.
 */
export async function lockProject(
  project: string,
  signal: AbortSignal,
  onWait: (holderPid: number) => void,
): Promise<ProjectLock> {
  const path = join(tmpdir(), names.lockFile(project));
  const mine = `${process.pid}\n`;
  let waitedFor: number | undefined;
  for (;;) {
    try {
      await writeFile(path, mine, { flag: 'wx' });
      return {
        release: async () => {
          // Only our own: a lock taken over after we were thought dead is someone else's.
          if ((await readFile(path, 'utf8').catch(() => '')) === mine) await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await holderOf(path);
    if (holder === 'gone') {
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return; // another waiter took it over first
        throw new UserError(`A pbx that has ended left ${path}, and this user cannot remove it: ${error.message}.`, {
          code: 'LOCK_STALE',
          nextSteps: [`Remove it (\`sudo rm ${path}\`), then run \`pbx up\` again.`],
        });
      });
      continue;
    }
    if (holder !== undefined && holder !== waitedFor) {
      waitedFor = holder;
      onWait(holder);
    }
    await sleep(RETRY_MS, signal);
    if (signal.aborted) throw new InterruptedError();
  }
}

/** The live process holding the lock, 'gone' when it has died, undefined while it is still writing its pid. */
async function holderOf(path: string): Promise<number | 'gone' | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined; // released meanwhile: try again
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) {
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    return age > EMPTY_STALE_MS ? 'gone' : undefined;
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : 'gone'; // EPERM: alive, another user's
  }
}
