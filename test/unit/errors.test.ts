import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ExitCode,
  InterruptedError,
  UsageError,
  UserError,
  classifyError,
  tidyOclifMessage,
} from '../../src/cli/errors';
import { Output } from '../../src/cli/output';
import { reportError } from '../../src/cli/run';

function report(error: unknown, mode: 'plain' | 'json', debug = false) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const code = reportError(error, new Output(mode, false, stdout, stderr), debug);
  return { code, stdout: String(stdout.read() ?? ''), stderr: String(stderr.read() ?? '') };
}

describe('error reporting', () => {
  it('prints a user error with hint and next steps on stderr and returns its exit code', () => {
    const r = report(
      new UserError('Port 9092 is taken.', { hint: 'by nc', nextSteps: ['Free it.'], exitCode: ExitCode.unhealthy }),
      'plain',
    );
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Error: Port 9092 is taken.');
    expect(r.stderr).toContain('by nc');
    expect(r.stderr).toContain('• Free it.');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints one JSON document for --json', () => {
    const r = report(new UserError('bad', { code: 'X', details: { port: 1 } }), 'json');
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'X', message: 'bad', exitCode: 1, details: { port: 1 } } });
  });

  it('treats unknown errors as bugs: exit 70, stack only with --debug', () => {
    const plain = report(new TypeError('boom'), 'plain');
    expect(plain.code).toBe(ExitCode.bug);
    expect(plain.stderr).toContain('bug in pbx');
    expect(plain.stderr).not.toContain('errors.test.ts');
    expect(report(new TypeError('boom'), 'plain', true).stderr).toContain('errors.test.ts');
  });

  it('puts oclif’s flag parsing errors in one line, without its help pointer', () => {
    expect(
      tidyOclifMessage(
        'Parsing --count \n\tExpected an integer greater than or equal to 1 but received: 0\nSee more help with --help',
      ),
    ).toBe('--count: expected an integer greater than or equal to 1, got 0');
    expect(tidyOclifMessage('Nonexistent flag: --nope\nSee more help with --help')).toBe('Nonexistent flag: --nope');
    expect(
      tidyOclifMessage('The following error occurred:\n  Missing required flag topic\nSee more help with --help'),
    ).toBe('--topic is required');
    expect(tidyOclifMessage('Expected --compression=zip to be one of: none, gzip\nSee more help with --help')).toBe(
      '--compression: expected one of none, gzip, got zip',
    );
    expect(tidyOclifMessage('Expected movies to be one of: reviews\nSee more help with --help')).toBe(
      'Expected one of reviews, got movies',
    );
  });

  it('maps oclif parse errors to usage errors (exit 2) and exit-0 signals to nothing', () => {
    const parseError = Object.assign(new Error('\u001B[1mNonexistent flag: --x\u001B[22m'), { oclif: { exit: 2 } });
    expect(classifyError(parseError).userError).toBeInstanceOf(UsageError);
    expect(classifyError(parseError).userError?.message).toBe('Nonexistent flag: --x');
    expect(classifyError(Object.assign(new Error('EEXIT: 0'), { oclif: { exit: 0 } }))).toEqual({});
  });

  it('prints nothing more for a failure the command already reported', () => {
    const r = report(new UserError('x', { alreadyReported: true }), 'json');
    expect(r).toEqual({ code: 1, stdout: '', stderr: '' });
  });

  it('uses 130 for interruptions', () => {
    expect(report(new InterruptedError(), 'plain').code).toBe(130);
  });
});
