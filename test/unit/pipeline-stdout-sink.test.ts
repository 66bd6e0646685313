import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors';
import { SPEC, pipeline, stdout, type StreamRecord } from '../../src/pipelines/api';
import { describeTopology, topologyOf } from '../../src/pipelines/runtime/topology';
import { shapeLines, shapeOf } from '../../src/pipelines/shape';
import { StdoutClosed, openStdoutSink } from '../../src/pipelines/sinks/stdout';
import type { SinkWrite } from '../../src/pipelines/sinks/types';

const record: StreamRecord = { topic: 't', partition: 0, offset: '0', key: null, headers: {}, timestamp: 0, time: 0 };
const writes = (...values: unknown[]): SinkWrite[] => values.map((value) => ({ value, key: null, record }));

/** A stdout that keeps what it is given; `hold` keeps each write's callback until `release` (a reader not reading). */
function fakeStdout(options: { hold?: boolean; fail?: NodeJS.ErrnoException } = {}) {
  const text: string[] = [];
  const held: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, callback) {
      if (options.fail) return callback(options.fail);
      text.push(chunk.toString());
      if (options.hold) held.push(() => callback());
      else callback();
    },
  });
  const release = () => held.splice(0).forEach((done) => done());
  return { stream, text: () => text.join(''), held, release };
}

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code });

describe('stdout()', () => {
  it('is a sink of its own kind, shown as stdout by --check and in the topology', () => {
    const spec = pipeline('show').from('t').to(stdout())[SPEC];
    expect(spec.sinks).toEqual([{ kind: 'stdout' }]);
    expect(shapeOf(spec, 'p.ts').sinks).toEqual(['stdout']);
    expect(shapeLines(shapeOf(spec, 'p.ts')).at(-1)).toBe('to        stdout');
    expect(describeTopology(topologyOf(spec))).toBe('t → stdout');
  });

  it('goes with other sinks, but once: twice would print every value twice', () => {
    expect(pipeline('p').from('t').to('u', stdout())[SPEC].sinks).toEqual([
      { kind: 'kafka', topic: 'u' },
      { kind: 'stdout' },
    ]);
    expect(() => pipeline('p').from('t').to(stdout(), stdout())).toThrow('stdout() is named twice');
    expect(() => pipeline('p').from('t').to(stdout()).to(stdout())).toThrow('stdout() is named twice');
  });
});

describe('the stdout sink', () => {
  it('prints one value a line: a string as it is, anything else as compact JSON, a string with a newline as JSON', async () => {
    const out = fakeStdout();
    const sink = openStdoutSink(out.stream);
    await sink.write(writes('a line', { n: 1, l: [true, null] }, 3, null, 'two\nlines'));
    expect(out.text()).toBe('a line\n{"n":1,"l":[true,null]}\n3\nnull\n"two\\nlines"\n');
    expect(sink.name).toBe('stdout');
    expect(sink.takeWarnings()).toEqual([]);
    await sink.close();
  });

  it('resolves only once stdout took every line: a reader that does not read holds the batch back', async () => {
    const out = fakeStdout({ hold: true });
    const sink = openStdoutSink(out.stream);
    // Enough for several chunks: each waits for the one before it to be taken.
    const values = Array.from({ length: 5000 }, (_, i) => `value ${i}`);
    let done = false;
    const writing = sink.write(writes(...values)).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    expect(out.held).toHaveLength(1);
    while (!done) {
      out.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writing;
    expect(out.text()).toBe(values.map((v) => `${v}\n`).join(''));
  });

  it('says StdoutClosed when its reader went away (EPIPE), at the write that meets it and at every later one', async () => {
    const out = fakeStdout({ fail: errno('EPIPE') });
    const sink = openStdoutSink(out.stream);
    const error = await sink.write(writes('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StdoutClosed);
    expect(((error as StdoutClosed).cause as NodeJS.ErrnoException).code).toBe('EPIPE');
    await expect(sink.write(writes('y'))).rejects.toBeInstanceOf(StdoutClosed);
    await sink.close();
    expect(out.stream.listenerCount('error')).toBe(0);
  });

  it('fails the run on any other error of stdout, saying the batch is printed again', async () => {
    const sink = openStdoutSink(fakeStdout({ fail: errno('ENOSPC') }).stream);
    const error = await sink.write(writes('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'STDOUT_FAILED', exitCode: 1 });
    expect((error as UserError).message).toContain('write ENOSPC');
  });

  it('writes nothing for an empty batch', async () => {
    const out = fakeStdout();
    await openStdoutSink(out.stream).write([]);
    expect(out.text()).toBe('');
  });
});
