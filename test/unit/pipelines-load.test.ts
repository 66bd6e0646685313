import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { UserError } from '../../src/cli/errors';
import { SPEC, cassandra, pipeline, tumbling, type PipelineSpec } from '../../src/pipelines/api';
import { checkSpec, loadPipeline, pipelineFile, pipelineNames, specOf } from '../../src/pipelines/load';
import { describeValue, moduleErrorPosition, sourceExcerpt, stackFrames } from '../../src/pipelines/module-errors';
import { shapeLines, shapeOf } from '../../src/pipelines/shape';
import { projectFiles } from '../../src/scaffold/project';

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    return error as UserError;
  }
  throw new Error('it did not throw');
}

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-load-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

describe('checkSpec', () => {
  it('refuses a pipeline that never calls from, naming it', () => {
    const error = thrown(() => checkSpec(pipeline('lonely')[SPEC], '/p/pipelines/lonely.ts'));
    expect(error.code).toBe('PIPELINE_NO_SOURCE');
    expect(error.message).toBe(
      'Pipeline "lonely" (/p/pipelines/lonely.ts) reads nothing: its module never calls .from(topic).',
    );
    expect(error.exitCode).toBe(1);
  });

  it('refuses a pipeline whose stream never reaches to', () => {
    const spec = pipeline('sinkless')
      .from('t')
      .map((r: { x: number }) => r.x)[SPEC];
    const error = thrown(() => checkSpec(spec));
    expect(error.code).toBe('PIPELINE_NO_SINK');
    expect(error.message).toContain('Pipeline "sinkless" writes nowhere');
  });

  it('accepts a pipeline with a source and a sink', () => {
    expect(() => checkSpec(pipeline('ok').from('t').to('u')[SPEC])).not.toThrow();
  });
});

describe('pipelineFile: which module a name or path means', () => {
  const dir = project({
    'pipelines/reviews-per-hour.ts': '',
    'pipelines/clean.mts': '',
    'pipelines/legacy.js': '',
    'pipelines/both.ts': '',
    'pipelines/both.js': '',
    'pipelines/helpers.d.ts': '',
    'pipelines/clean.test.ts': '',
    'other/x.ts': '',
  });

  it('finds a name in pipelines/ as .ts, .mts or .js, .ts first', () => {
    expect(pipelineFile('reviews-per-hour', dir)).toBe(join(dir, 'pipelines/reviews-per-hour.ts'));
    expect(pipelineFile('clean', dir)).toBe(join(dir, 'pipelines/clean.mts'));
    expect(pipelineFile('legacy', dir)).toBe(join(dir, 'pipelines/legacy.js'));
    expect(pipelineFile('both', dir)).toBe(join(dir, 'pipelines/both.ts'));
  });

  it('takes a path relative to the working directory, or a file name in pipelines/', () => {
    expect(pipelineFile('other/x.ts', dir, dir)).toBe(join(dir, 'other/x.ts'));
    expect(pipelineFile(join(dir, 'other/x.ts'), '/nowhere')).toBe(join(dir, 'other/x.ts'));
    expect(pipelineFile('legacy.js', dir, '/')).toBe(join(dir, 'pipelines/legacy.js'));
  });

  it('says which pipelines there are and the closest name to a mistyped one', () => {
    const error = thrown(() => pipelineFile('reviews-per-hr', dir));
    expect(error.code).toBe('PIPELINE_NOT_FOUND');
    expect(error.message).toContain(`No pipeline "reviews-per-hr" in ${join(dir, 'pipelines')}`);
    expect(error.nextSteps[0]).toBe('Did you mean `pbx run reviews-per-hour`?');
    expect(error.nextSteps[1]).toContain('both, clean, legacy, reviews-per-hour.');
    expect(pipelineNames(join(dir, 'pipelines'))).toEqual(['both', 'clean', 'legacy', 'reviews-per-hour']);
    expect(thrown(() => pipelineFile('zzz', dir)).nextSteps[0]).toMatch(/^The pipelines in/);
  });

  it('says a project has no pipelines/ yet, and a path that is not there', () => {
    const empty = project({ 'pbx.yaml': '' });
    expect(thrown(() => pipelineFile('x', empty)).nextSteps).toEqual([
      `${join(empty, 'pipelines')} has no pipeline module: write one there (\`pbx init\` writes pipelines/example.ts), or give the module's path.`,
    ]);
    expect(thrown(() => pipelineFile('./nope.ts', empty, empty)).message).toBe(
      `No pipeline module at ${join(empty, 'nope.ts')}.`,
    );
  });
});

describe('specOf: the default export', () => {
  it('says what a module without a default export exports', () => {
    const error = thrown(() => specOf({ p: 1, q: 2 }, '/m.ts'));
    expect(error.code).toBe('PIPELINE_NOT_EXPORTED');
    expect(error.message).toBe('/m.ts has no default export: it exports p, q.');
    expect(thrown(() => specOf({}, '/m.ts')).message).toBe('/m.ts has no default export (it exports nothing).');
  });

  it('says what a default export that is not a pipeline is', () => {
    expect(thrown(() => specOf({ default: pipeline }, '/m.ts')).message).toBe(
      "/m.ts's default export is the function pipeline, not a pipeline.",
    );
    expect(thrown(() => specOf({ default: { name: 'x' } }, '/m.ts')).message).toContain('an object with keys name');
  });

  it('returns the spec a pipeline carries', () => {
    const built = pipeline('ok').from('t').to('u');
    expect(specOf({ default: built }, '/m.ts')).toBe(built[SPEC]);
  });

  it('describes values as a sentence names them', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue('x'.repeat(50))).toBe(`the string "${'x'.repeat(40)}…"`);
    expect(describeValue(3)).toBe('the number 3');
    expect(describeValue([1, 2])).toBe('an array of 2');
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue({})).toBe('an empty object');
    expect(describeValue(() => 1)).toBe('a function');
  });
});

describe('moduleErrorPosition: where a module failed to load', () => {
  const file = '/p/pipelines/m.ts';
  const context = { file, projectDir: '/p', text: "import { pipeline } from 'pbx';\nimport x from 'lodash';\n" };

  it("takes Bun's BuildMessage position (a syntax error)", () => {
    const error = { message: 'Unexpected ;', position: { file, line: 5, column: 9, lineText: '  .from(;' } };
    expect(moduleErrorPosition(error, context)).toEqual({ file, line: 5, column: 9 });
  });

  it('takes the first stack frame in the module, else in its project, over pbx’s own', () => {
    const error = new Error('bad');
    error.stack = [
      'TypeError: bad',
      '    at toMs (/$bunfs/root/pbx:120:11)',
      '    at helper (/p/lib/helper.ts:3:7)',
      `    at ${file}:7:25`,
      `    at async file://${file}:9:1`,
    ].join('\n');
    expect(moduleErrorPosition(error, context)).toEqual({ file, line: 7, column: 25 });
    error.stack = 'TypeError: bad\n    at toMs (/$bunfs/root/pbx:120:11)\n    at helper (/p/lib/helper.ts:3:7)';
    expect(moduleErrorPosition(error, context)).toEqual({ file: '/p/lib/helper.ts', line: 3, column: 7 });
    expect(stackFrames(`    at f (file:///a/b%20c.ts:1:2)`)).toEqual([{ file: '/a/b c.ts', line: 1, column: 2 }]);
  });

  it('finds a package that cannot be found, or a name pbx does not export, in the source', () => {
    const missing = { message: `Cannot find package 'lodash' imported from ${file}`, code: 'ERR_MODULE_NOT_FOUND' };
    expect(moduleErrorPosition(missing, context)).toEqual({ file, line: 2, column: 15 });
    const named = new SyntaxError("Export named 'pipeline' not found in module 'pbx'.");
    expect(moduleErrorPosition(named, context)).toEqual({ file, line: 1, column: 10 });
  });

  it("reads esbuild's position (tsx in development), its column from 0", () => {
    const error = {
      name: 'TransformError',
      message: `Transform failed with 1 error:\n${file}:5:8: ERROR: Unexpected ";"`,
    };
    expect(moduleErrorPosition(error, context)).toEqual({ file, line: 5, column: 9 });
  });

  it('shows the line with a caret under the column', () => {
    expect(sourceExcerpt('a\n  .from(;\n', { line: 2, column: 9 })).toBe('2 |   .from(;\n  |         ^');
  });
});

describe('loadPipeline (vitest resolves pbx to the API as the binary does)', () => {
  it('loads the example module pbx init writes, and shows its stages', async () => {
    const dir = project(projectFiles('demo'));
    const { spec, file } = await loadPipeline('example', dir);
    expect(file).toBe(join(dir, 'pipelines/example.ts'));
    checkSpec(spec, file);
    expect(shapeLines(shapeOf(spec, file))).toEqual([
      'from      events (json; event time from the time function)',
      'filter',
      'keyBy',
      'aggregate count over tumbling 1 d, lateness 0 ms',
      'to        topic good-reviews-per-day',
    ]);
  });

  it('names the table, window and sinks of the contract’s example in its topology', () => {
    const spec: PipelineSpec = pipeline('reviews-per-hour')
      .from('movie_reviews', { time: (r: { time: number; product_id: string }) => r.time * 1000 })
      .keyBy((r) => r.product_id)
      .window(tumbling('1h'), { lateness: '5m' })
      .count()
      .to(cassandra('reviews.per_hour'), 'counts')[SPEC];
    const topology = shapeOf(spec, '/m.ts');
    expect(topology).toMatchObject({ stateful: true, sinks: ['cassandra reviews.per_hour', 'topic counts'] });
    expect(shapeLines(topology)[2]).toBe('aggregate count over tumbling 1 h, lateness 5 min');
  });
});
