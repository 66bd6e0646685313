import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emitApiDeclaration } from '../../scripts/api-declaration';
import { API_DECLARATION } from '../../src/scaffold/api-declaration';
import { API_TYPES_FILE, initProject, tsconfigUpdate } from '../../src/scaffold/project';

describe('the API declaration pbx init writes', () => {
  it('is what tsc emits for src/pipelines/api.ts now (else: npx tsx scripts/api-declaration.ts)', () => {
    expect(API_DECLARATION).toBe(emitApiDeclaration());
  });
});

describe("tsconfig.json: 'pbx' in its paths, never overwritten", () => {
  const dir = '/p';

  it('is written new when there is none', () => {
    const update = tsconfigUpdate(dir, undefined);
    expect(update.action).toBe('created');
    expect(JSON.parse(update.content!).compilerOptions.paths).toEqual({ pbx: ['./types/pbx.d.ts'] });
  });

  it("gets 'pbx' added to its paths, relative to its baseUrl, the rest kept", () => {
    const mine = { compilerOptions: { strict: false, baseUrl: 'src', paths: { '@/*': ['./*'] } }, include: ['x'] };
    const update = tsconfigUpdate(dir, JSON.stringify(mine));
    expect(update.action).toBe('updated');
    expect(JSON.parse(update.content!)).toEqual({
      compilerOptions: { strict: false, baseUrl: 'src', paths: { '@/*': ['./*'], pbx: ['../types/pbx.d.ts'] } },
      include: ['x'],
    });
    expect(tsconfigUpdate(dir, update.content).action).toBe('unchanged');
    expect(tsconfigUpdate(dir, '{}').action).toBe('updated');
  });

  it('is left as it is, saying what to add, when it has comments or maps pbx elsewhere', () => {
    const commented = tsconfigUpdate(dir, '{\n  // mine\n  "compilerOptions": {}\n}');
    expect(commented).toEqual({
      action: 'left',
      note: 'tsconfig.json is not plain JSON, so pbx left it: add "paths": { "pbx": ["./types/pbx.d.ts"] } to its compilerOptions.',
    });
    const elsewhere = tsconfigUpdate(dir, JSON.stringify({ compilerOptions: { paths: { pbx: ['./vendor/pbx'] } } }));
    expect(elsewhere.action).toBe('left');
    expect(elsewhere.note).toContain("maps 'pbx' elsewhere");
  });

  it('pbx init --editor writes the declaration again and merges tsconfig.json, in a project that exists', async () => {
    const project = mkdtempSync(join(tmpdir(), 'pbx-editor-'));
    writeFileSync(join(project, 'pbx.yaml'), 'name: mine\n');
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true } }));
    const first = await initProject({ dir: project, force: false, editor: true });
    expect(first).toMatchObject({ created: [API_TYPES_FILE], updated: ['tsconfig.json'], overwritten: [] });
    writeFileSync(join(project, API_TYPES_FILE), 'stale');
    const again = await initProject({ dir: project, force: false, editor: true });
    expect(again).toMatchObject({ created: [], updated: [], overwritten: [API_TYPES_FILE] });
    expect(readFileSync(join(project, API_TYPES_FILE), 'utf8')).toContain(API_DECLARATION);
    expect(readFileSync(join(project, 'pbx.yaml'), 'utf8')).toBe('name: mine\n');
  });
});
