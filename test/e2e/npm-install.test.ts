// What a user without the repository gets: the packed tarball, installed globally with npm, runs as `pbx` under
// node (a bundle of pbx and its libraries: the tarball has no dependencies to fetch, so no registry is asked).
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import pjson from '../../package.json' with { type: 'json' };

const ROOT = resolve(import.meta.dirname, '../..');
let pbx: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pbx-npm-'));
  // npm pack runs prepack, which bundles the sources into the path package.json's bin names.
  await execa('npm', ['pack', '--pack-destination', dir], { cwd: ROOT });
  const tarball = join(dir, `pbx-${pjson.version}.tgz`);
  expect(existsSync(tarball)).toBe(true);
  const prefix = join(dir, 'prefix');
  await execa('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], {
    cwd: dir,
  });
  pbx = join(prefix, 'bin', 'pbx');
});

describe('npm pack, then npm install -g of the tarball', () => {
  it('gives a pbx that prints its version and its help, from /', async () => {
    const version = await execa(pbx, ['--version'], { cwd: '/' });
    expect(version.stdout).toMatch(new RegExp(`^pbx/${pjson.version.replaceAll('.', '\\.')} .* node-v`));
    const help = await execa(pbx, ['help'], { cwd: '/' });
    expect(help.stdout).toContain('replay');
  });

  it('runs a command: three generated reviews', async () => {
    const { stdout } = await execa(pbx, ['data', 'gen', 'reviews', '--count', '3'], { cwd: '/' });
    const reviews = stdout.split('\n').map((line) => JSON.parse(line) as { user_id: string });
    expect(reviews).toHaveLength(3);
    expect(reviews[0]).toHaveProperty('user_id');
  });

  it('loads a pipeline module in JavaScript with pbx’s API; TypeScript where Node strips types, else says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-npm-project-'));
    mkdirSync(join(dir, 'pipelines'));
    const module = "import { pipeline } from 'pbx';\nexport default pipeline('clean').from('in').to('out');\n";
    writeFileSync(join(dir, 'pipelines/clean.mjs'), module);
    writeFileSync(join(dir, 'pipelines/typed.ts'), module.replace("'in'", "'in' as string"));
    const js = await execa(pbx, ['run', 'clean', '--check', '--json'], { cwd: dir });
    expect(JSON.parse(js.stdout)).toMatchObject({ pipeline: 'clean', sinks: ['topic out'] });
    const ts = await execa(pbx, ['run', 'typed', '--check', '--json'], { cwd: dir, reject: false });
    if ((process.features as { typescript?: unknown }).typescript) expect(ts.exitCode).toBe(0);
    else expect(JSON.parse(ts.stdout).error).toMatchObject({ code: 'PIPELINE_NEEDS_TYPESCRIPT', exitCode: 1 });
  });
});
