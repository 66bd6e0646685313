import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { APACHE_LOG_START, apacheTime, generateApacheLog } from '../../src/datagen/apache-log';

// The combined log format, as a log analyser reads it: host ident user [time] "request" status bytes "referer" "agent".
const COMBINED =
  /^(\d+\.\d+\.\d+\.\d+) - (\S+) \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\] "(GET|POST|HEAD) (\S+) HTTP\/1\.1" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timeOf(match: RegExpExecArray): number {
  const [day, month, year, h, m, s] = [3, 4, 5, 6, 7, 8].map((i) => match[i]!);
  return Date.UTC(Number(year), MONTHS.indexOf(month!), Number(day), Number(h), Number(m), Number(s));
}

describe('generateApacheLog', () => {
  it('gives the same bytes for the same count, days and seed, and other bytes for another seed or span', () => {
    const digest = (seed: number, days = 7) =>
      createHash('sha256')
        .update([...generateApacheLog({ count: 2000, seed, days })].join('\n'))
        .digest('hex');
    expect(digest(7)).toBe(digest(7));
    expect(digest(7)).not.toBe(digest(8));
    expect(digest(7)).not.toBe(digest(7, 3));
  });

  it('writes lines in the combined log format, in time order, over every one of the days', () => {
    const lines = [...generateApacheLog({ count: 5000, seed: 42, days: 5 })];
    expect(lines).toHaveLength(5000);
    const times = lines.map((line) => {
      const match = COMBINED.exec(line);
      expect(match, line).not.toBeNull();
      return timeOf(match!);
    });
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(APACHE_LOG_START);
    expect(times.at(-1)).toBeLessThan(APACHE_LOG_START + 5 * 86_400_000);
    const days = new Set(times.map((t) => Math.floor((t - APACHE_LOG_START) / 86_400_000)));
    expect([...days].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('has several status codes, 200 the most, and "-" bytes for 304s', () => {
    const counts = new Map<string, number>();
    for (const line of generateApacheLog({ count: 10_000, seed: 1 })) {
      const match = COMBINED.exec(line)!;
      counts.set(match[11]!, (counts.get(match[11]!) ?? 0) + 1);
      if (match[11] === '304') expect(match[12]).toBe('-');
    }
    expect([...counts.keys()].sort()).toEqual(['200', '301', '304', '403', '404', '500', '503']);
    expect(Math.max(...counts.values())).toBe(counts.get('200'));
  });

  it("writes Apache's %t time in UTC", () => {
    expect(apacheTime(Date.UTC(2000, 9, 10, 13, 55, 36))).toBe('10/Oct/2000:13:55:36 +0000');
  });
});
