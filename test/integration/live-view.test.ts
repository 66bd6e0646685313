// The live views of the binary on a real pseudo-terminal (script(1) with the size stty gives it), against a real
// Kafka: Ink redraws the live region in place and writes notes once above it; a terminal that reports no size
// gets plain lines.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARY, generateReviews } from '../support/cli';
import { purge, testProject } from '../support/stack';

const project = testProject('itlive', 'services:\n  kafka: {port: 29471, mode: kraft}\n');
const topic = () => `live-${randomBytes(4).toString('hex')}`;

// eslint-disable-next-line no-control-regex -- the terminal's escape sequences are what is looked for
const ESCAPES = /\u001B\[[0-9;?]*[A-Za-z]/g;
/** Ink's redraw: erase the line, move up one. */
const REDRAW = '\u001B[2K\u001B[1A';
const CLEAR_SCREEN = '\u001B[2J';

/** Runs `command` with the binary on a pseudo-terminal of `columns` × `rows`; returns everything it drew. */
async function onTerminal(command: string, size: { columns: number; rows: number }) {
  const run = await execa('script', ['-qfec', `stty cols ${size.columns} rows ${size.rows}; ${command}`, '/dev/null'], {
    reject: false,
    // Unset, not empty: Ink takes any CI variable but "0" and "false" for a CI, and then draws only the last frame.
    env: { CI: undefined, CONTINUOUS_INTEGRATION: undefined, TERM: 'xterm', NO_COLOR: '1' },
  });
  return { exitCode: run.exitCode, raw: run.stdout, text: run.stdout.replace(ESCAPES, '') };
}

/** `status --watch` for long enough to take at least two frames (one each 2 s), then Ctrl-C. */
async function watchStatus(size: { columns: number; rows: number }) {
  const run = await onTerminal(`timeout -s INT 6 ${BINARY} status --watch kafka --config ${project.file}`, size);
  const frame = new RegExp(`${project.name} at \\d\\d:\\d\\d:\\d\\d, every 2 s \\(Ctrl-C stops\\)`, 'g');
  return { ...run, frames: run.text.match(frame) ?? [] };
}

beforeAll(async () => {
  await purge(project.name);
  const up = await project.pbx(['up', 'kafka']);
  expect(up.exitCode, up.stderr).toBe(0);
});
afterAll(() => purge(project.name));

describe('live views on a terminal', () => {
  it('replay redraws its line in place, a few times a second, with the note of the resume written once above it', async () => {
    const data = join(project.dir, 'live.json');
    await generateReviews(data, 20, 7);
    const name = topic();
    const checkpoint = join(project.dir, `${name}.ckpt`);
    const first = await project.pbx(['replay', data, '--topic', name, '--limit', '5', '--checkpoint', checkpoint]);
    expect(first.exitCode, first.stderr).toBe(0);

    const started = Date.now();
    const run = await onTerminal(
      `${BINARY} replay ${data} --topic ${name} --rate 10 --checkpoint ${checkpoint} --config ${project.file}`,
      { columns: 120, rows: 30 },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(run.exitCode, run.text).toBe(0);
    expect(run.raw).toContain(REDRAW);
    expect(run.raw).not.toContain(CLEAR_SCREEN);
    // The note is in <Static>: written once, before the last frame of the live line.
    const notes = run.text.split(`Resuming from ${checkpoint}`);
    expect(notes, run.text).toHaveLength(2);
    const frames = run.text.match(/replay → [\w-]+: [^\r\n]*/g) ?? [];
    expect(frames.at(-1), run.text).toMatch(new RegExp(`^replay → ${name}: .* · sent 15 · `));
    expect(run.text.lastIndexOf('Resuming from')).toBeLessThan(run.text.lastIndexOf(frames.at(-1)!));
    // 15 records at 10/s take 1.5 s; at 4 frames a second at most, with a few to spare for the first and the last.
    expect(frames.length, frames.join('\n')).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 3);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    expect(run.text).toContain(`Sent 15 record(s) from ${data} (ndjson) to ${name}`);
  });

  it('status --watch redraws its table in place instead of clearing the screen', async () => {
    const run = await watchStatus({ columns: 120, rows: 30 });
    expect(run.frames.length, run.text).toBeGreaterThanOrEqual(2);
    expect(run.raw).toContain(REDRAW);
    expect(run.raw).not.toContain(CLEAR_SCREEN);
    expect(run.text).toMatch(/kafka\s+running\s+yes/);
  });

  it('on a terminal that reports no size, status --watch writes each frame as plain lines', async () => {
    const run = await watchStatus({ columns: 0, rows: 0 });
    expect(run.frames.length, run.text).toBeGreaterThanOrEqual(2);
    expect(run.raw).not.toContain(REDRAW);
    expect(run.raw).not.toContain(CLEAR_SCREEN);
  });
});
