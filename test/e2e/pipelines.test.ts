// Pipeline modules as the compiled binary loads them: TypeScript on disk with 'pbx' resolved to the binary's own
// API, failures reported at the module's file and line, and pbx init's editor types checked by tsc. `--check`
// loads and checks without connecting to anything, so these need no stack.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BINARY, runBinary } from '../support/cli';

const TSC = resolve(import.meta.dirname, '../../node_modules/.bin/tsc');
let pbx: string;
let workdir: string;

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error('dist/pbx is missing: run `npm run build` first (scripts/test.sh does).');
  workdir = mkdtempSync(join(tmpdir(), 'pbx-e2e-pipelines-'));
  pbx = join(workdir, 'pbx');
  await copyFile(BINARY, pbx);
});

/** A project with pbx.yaml and these files, and `pbx run <args>` in it. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(workdir, 'project-'));
  writeFileSync(join(dir, 'pbx.yaml'), 'name: modules\n');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}
const run = (dir: string, ...args: string[]) => runBinary(['run', ...args], { cwd: dir, binary: pbx });

describe('pbx run loads a pipeline module (compiled binary)', () => {
  it('pbx init writes an example that tsc checks against the written declaration, and that pbx run --check loads', async () => {
    await execa(pbx, ['init', 'app'], { cwd: workdir });
    const app = join(workdir, 'app');
    // skipLibCheck off: the declaration itself is checked too.
    await execa(TSC, ['-p', app, '--skipLibCheck', 'false']);
    writeFileSync(
      join(app, 'pipelines/wrong.ts'),
      "import { pipeline } from 'pbx';\nexport default pipeline('wrong').from<{ n: number }>('t').map((r) => r.m).to(42);\n",
    );
    const wrong = await execa(TSC, ['-p', app], { reject: false });
    expect(wrong.stdout).toContain("pipelines/wrong.ts(2,72): error TS2339: Property 'm' does not exist");
    expect(wrong.stdout).toContain('pipelines/wrong.ts(2,78): error TS2345');

    const check = await run(app, 'example', '--check', '--json');
    expect(check.exitCode).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      pipeline: 'example',
      file: join(app, 'pipelines/example.ts'),
      source: { topics: ['events'], format: 'json', eventTime: 'time function' },
      steps: [
        { kind: 'filter' },
        { kind: 'keyBy' },
        { kind: 'aggregate', field: 'count', window: { size: 86_400_000 } },
      ],
      sinks: ['topic good-reviews-per-day'],
      stateful: true,
    });
    const text = await run(app, 'pipelines/example.ts', '--check');
    expect(text.stdout).toContain('aggregate count over tumbling 1 d, lateness 0 ms');
  });

  it('imports a package from the project’s own node_modules', async () => {
    const dir = project({
      'node_modules/shout/package.json': '{ "name": "shout", "main": "index.js" }',
      'node_modules/shout/index.js': 'module.exports = (s) => s.toUpperCase() + "!";',
      'pipelines/loud.ts': `import { pipeline } from 'pbx';
import shout from 'shout';
export default pipeline(shout('loud').slice(0, 4).toLowerCase()).from('in').map((s: string) => shout(s)).to('out');
`,
    });
    const result = await run(dir, 'loud', '--check', '--json');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ pipeline: 'loud', sinks: ['topic out'] });
  });

  it('reports a syntax error at the module’s file, line and column', async () => {
    const dir = project({
      'pipelines/broken.ts':
        "import { pipeline } from 'pbx';\ntype T = { a: number };\n\nexport default pipeline('broken')\n  .from(;\n",
    });
    const result = await run(dir, 'broken', '--check');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`Error: ${join(dir, 'pipelines/broken.ts')}:5:9: syntax error: Unexpected ;`);
    expect(result.stderr).toContain('5 |   .from(;\n  |         ^');
    const json = await run(dir, 'broken', '--check', '--json');
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'PIPELINE_MODULE_FAILED',
      exitCode: 1,
      details: { file: join(dir, 'pipelines/broken.ts'), line: 5, column: 9 },
    });
  });

  it('reports an exception thrown while the module loads at the line that threw, in the module', async () => {
    const dir = project({
      'pipelines/throws.ts': `import { pipeline, tumbling } from 'pbx';

const size: string = '1 hour';
export default pipeline('throws').from('t').keyBy((r) => r.id).window(tumbling(size)).count().to('out');
`,
      'pipelines/own.ts':
        "import { pipeline } from 'pbx';\nfunction load(): never {\n  throw new Error('no config');\n}\nexport default pipeline(load());\n",
    });
    const fromApi = await run(dir, 'throws', '--check');
    expect(fromApi.exitCode).toBe(1);
    expect(fromApi.stderr).toContain(
      `${join(dir, 'pipelines/throws.ts')}:4:71: the module threw while loading: TypeError: tumbling size "1 hour"`,
    );
    const own = await run(dir, 'own', '--check');
    // (Bun's column is the Error's construction, Node's the throw.)
    expect(own.stderr).toContain(
      `${join(dir, 'pipelines/own.ts')}:3:13: the module threw while loading: Error: no config`,
    );
  });

  it('says what a module exports when it has no default export, or one that is not a pipeline', async () => {
    const dir = project({
      'pipelines/named.ts':
        "import { pipeline } from 'pbx';\nexport const clean = pipeline('clean').from('t').to('u');\n",
      'pipelines/fn.ts': "import { pipeline } from 'pbx';\nexport default pipeline;\n",
    });
    const named = await run(dir, 'named', '--check', '--json');
    expect(named.exitCode).toBe(1);
    expect(JSON.parse(named.stdout).error).toMatchObject({
      code: 'PIPELINE_NOT_EXPORTED',
      message: `${join(dir, 'pipelines/named.ts')} has no default export: it exports clean.`,
    });
    const fn = await run(dir, 'fn', '--check');
    expect(fn.stderr).toContain('default export is the function pipeline, not a pipeline.');
  });

  it('refuses a pipeline with no source or no sink, naming it', async () => {
    const dir = project({
      'pipelines/nosource.ts': "import { pipeline } from 'pbx';\nexport default pipeline('lonely');\n",
      'pipelines/nosink.ts':
        "import { pipeline } from 'pbx';\nexport default pipeline('sinkless').from('t').map((r) => r.x);\n",
    });
    const noSource = await run(dir, 'nosource', '--json');
    expect(noSource.exitCode).toBe(1);
    expect(JSON.parse(noSource.stdout).error).toMatchObject({ code: 'PIPELINE_NO_SOURCE' });
    expect(JSON.parse(noSource.stdout).error.message).toContain('Pipeline "lonely"');
    const noSink = await run(dir, 'nosink');
    expect(noSink.exitCode).toBe(1);
    expect(noSink.stderr).toContain(
      `Pipeline "sinkless" (${join(dir, 'pipelines/nosink.ts')}) writes nowhere: its stream never reaches .to(...).`,
    );
  });

  it('names the pipelines there are, and the closest, for an unknown name', async () => {
    const dir = project({
      'pipelines/reviews-per-hour.ts':
        "import { pipeline } from 'pbx';\nexport default pipeline('x').from('t').to('u');\n",
      'pipelines/clean.ts': "import { pipeline } from 'pbx';\nexport default pipeline('y').from('t').to('u');\n",
    });
    const result = await run(dir, 'reviews-per-hr', '--check');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`No pipeline "reviews-per-hr" in ${join(dir, 'pipelines')}`);
    expect(result.stderr).toContain('Did you mean `pbx run reviews-per-hour`?');
    expect(result.stderr).toContain(`The pipelines in ${join(dir, 'pipelines')}: clean, reviews-per-hour.`);
  });

  it('points at the import of a package the project does not have', async () => {
    const dir = project({
      'pipelines/dep.ts':
        "import { pipeline } from 'pbx';\nimport left from 'left-pad-nowhere';\nexport default pipeline(left).from('t').to('u');\n",
    });
    const result = await run(dir, 'dep', '--check');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      `${join(dir, 'pipelines/dep.ts')}:2:18: cannot import: Cannot find package 'left-pad-nowhere'`,
    );
  });
});
