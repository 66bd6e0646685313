import { constants } from 'node:fs';
import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../cli/errors';

/** Where a replay stands: enough to resume without sending anything twice or missing anything. */
export interface Checkpoint {
  version: 1;
  source: string;
  /** Size of the source file, so a checkpoint is never applied to a different file. */
  size?: number;
  topic: string;
  /** Index (in source order, bad records included) of the first record not yet delivered. */
  nextIndex: number;
  pass: number;
  sent: number;
  /** Tags this run's records (a header), so a resume can find those delivered after the last save. */
  runId: string;
  /** Each partition's end offset when this was saved: records of this run past them came later. */
  offsets: Record<string, string>;
  updatedAt: string;
}

/** Reads a checkpoint; undefined when the file does not exist yet (a first run). */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const why = code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new UserError(`Cannot read checkpoint ${path}: ${why}.`, {
      code: 'CHECKPOINT_UNREADABLE',
      nextSteps: ['Give --checkpoint the path of a file: pbx makes it on the first run and reads it on the next.'],
    });
  }
  try {
    const checkpoint = JSON.parse(text) as Checkpoint;
    if (checkpoint.version !== 1 || typeof checkpoint.nextIndex !== 'number')
      throw new Error('not a pbx replay checkpoint');
    return checkpoint;
  } catch (error) {
    throw new UserError(`Checkpoint ${path} is not valid: ${(error as Error).message}`, {
      code: 'CHECKPOINT_INVALID',
      nextSteps: [`Delete ${path} to start from the beginning.`],
    });
  }
}

/** Fails before anything is sent when no checkpoint can be written where asked. */
export async function checkWritable(path: string): Promise<void> {
  try {
    await access(dirname(resolve(path)), constants.W_OK);
  } catch (error) {
    throw unwritable(path, error);
  }
}

function unwritable(path: string, error: unknown): UserError {
  return new UserError(`Cannot write checkpoint ${path}: ${(error as Error).message}`, {
    code: 'CHECKPOINT_UNWRITABLE',
    nextSteps: ['Give --checkpoint a file in a directory you can write to.'],
  });
}

/** Refuses a checkpoint written for another file or topic: resuming there would skip the wrong records. */
export function checkCheckpoint(
  path: string,
  checkpoint: Checkpoint,
  source: string,
  size: number | undefined,
  topic: string,
): void {
  const mismatch =
    checkpoint.source !== source
      ? `file ${checkpoint.source}`
      : checkpoint.size !== size
        ? `a ${checkpoint.size}-byte version of the file`
        : checkpoint.topic !== topic
          ? `topic ${checkpoint.topic}`
          : undefined;
  if (mismatch) {
    throw new UserError(`Checkpoint ${path} belongs to ${mismatch}, not to this replay.`, {
      code: 'CHECKPOINT_MISMATCH',
      nextSteps: [`Use another --checkpoint file, or delete ${path} to start from the beginning.`],
    });
  }
}

/** Writes checkpoints atomically (temp file + rename), one at a time, at most every `intervalMs` unless forced. */
export class CheckpointWriter {
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly intervalMs = 500,
  ) {}

  /** Whether a save now would be written (callers skip gathering what it needs otherwise). */
  due(force = false): boolean {
    return force || Date.now() - this.lastWrite >= this.intervalMs;
  }

  save(checkpoint: Omit<Checkpoint, 'version' | 'updatedAt'>): Promise<void> {
    const now = Date.now();
    this.lastWrite = now;
    const document: Checkpoint = { version: 1, ...checkpoint, updatedAt: new Date(now).toISOString() };
    const temp = `${this.path}.tmp`;
    this.writing = this.writing.then(async () => {
      try {
        await writeFile(temp, `${JSON.stringify(document, null, 2)}\n`);
        await rename(temp, this.path);
      } catch (error) {
        throw unwritable(this.path, error);
      }
    });
    return this.writing;
  }
}
