import { describe, expect, it } from 'vitest';
import pjson from '../../package.json' with { type: 'json' };
import { runInProcess } from '../support/cli';

describe('pbx with a flag and no command', () => {
  it('-v prints the version, as --version does', async () => {
    const short = await runInProcess(['-v']);
    const long = await runInProcess(['--version']);
    expect(short.exitCode).toBe(0);
    expect(short.stdout).toMatch(new RegExp(`^pbx/${pjson.version.replaceAll('.', '\\.')} `));
    expect(short.stdout).toBe(long.stdout);
  });

  it.each([['--json'], ['--debug'], ['--json', '--debug']])(
    '%s alone is a usage error (exit 2) that says a command is needed',
    async (...argv) => {
      const result = await runInProcess(argv);
      expect(result.exitCode).toBe(2);
      // With --json the error is the document on stdout, as for any command.
      const said = argv.includes('--json') ? JSON.stringify(JSON.parse(result.stdout)) : result.stderr;
      expect(said).toContain(`${argv[0]} is a flag of a command, and no command was given`);
      expect(said).toContain(`pbx status ${argv[0]}`);
      expect(said).not.toContain('not found');
    },
  );
});
