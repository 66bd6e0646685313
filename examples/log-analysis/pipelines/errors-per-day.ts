// The failed requests of each day, counted by shell commands over windows of a day in event time. It reads
// access-errors, which the command-line pipeline of this example's README writes: one
// `dd/Mon/yyyy:HH:MM:SS status path` line per 4xx or 5xx request of the Apache access log.
import { pipeline, tumbling } from 'pbx';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Apache's time, `01/Mar/2024:06:54:51` (UTC, as the generated log writes it), in ms. */
export function apacheTime(line: string): number {
  const [, day, month, year, h, m, s] = /^(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d)/.exec(line) ?? [];
  return Date.UTC(Number(year), MONTHS.indexOf(month ?? ''), Number(day), Number(h), Number(m), Number(s));
}

export default pipeline('errors-per-day')
  .from<string>('access-errors', { format: 'text', time: apacheTime })
  .keyBy((line) => line.slice(0, 11))
  .window(tumbling('1d'))
  .shell(
    `awk '{ print substr($1, 1, 11) }' | sort | uniq -c | awk '{ printf "{\\"day\\":\\"%s\\",\\"errors\\":%d}\\n", $2, $1 }'`,
  )
  .to('errors-per-day');
