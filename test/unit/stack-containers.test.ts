import { execa } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writingFiles } from '../../src/stack/containers';

describe('writingFiles', () => {
  it('writes each config file byte for byte before the service command runs, with its arguments intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbx-files-'));
    const files = {
      [join(dir, 'etc/a.yaml')]: 'port: 9042\nseeds: "127.0.0.1:7000"\n',
      [join(dir, 'deep/er/b.properties')]: "$HOME `id` \\n 'quoted' %s\n\nno newline at the end",
    };
    const { command, env } = writingFiles({
      command: ['sh', '-c', 'echo "$0|$1"', 'first arg', 'second "arg"'],
      env: { KEEP: 'me' },
      files,
    });
    expect(env.KEEP).toBe('me');
    const { stdout } = await execa(command[0]!, command.slice(1), { env, extendEnv: false });
    expect(stdout).toBe('first arg|second "arg"');
    for (const [path, content] of Object.entries(files)) expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('leaves a service without files as it is', () => {
    const spec = { command: ['redis-server'], env: { A: '1' }, files: {} };
    expect(writingFiles(spec)).toEqual({ command: ['redis-server'], env: { A: '1' } });
  });
});
