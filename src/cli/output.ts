import type { Writable } from 'node:stream';
import { stripAnsi } from './errors';

/** How a command talks to the user, chosen once per run. */
export type OutputMode = 'tty' | 'plain' | 'json';

export interface Environment {
  [name: string]: string | undefined;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/**
 * A CI as Ink counts one: CI or CONTINUOUS_INTEGRATION present, even empty, unless "0" or "false". Ink then draws
 * only the last frame, so pbx must not choose the live view there.
 */
function inCi(env: Environment): boolean {
  const present = (value: string | undefined) => value !== undefined && value !== '0' && value !== 'false';
  return present(env.CI) || present(env.CONTINUOUS_INTEGRATION);
}

/** TTY gets the live UI; pipes, CI and dumb terminals get plain lines; --json gets one document. */
export function detectOutputMode(options: { json: boolean; isTTY: boolean; env: Environment }): OutputMode {
  if (options.json) return 'json';
  if (!options.isTTY || inCi(options.env) || options.env.TERM === 'dumb') return 'plain';
  return 'tty';
}

/** NO_COLOR (any value) wins; FORCE_COLOR turns colour on even in plain mode; JSON is never coloured. */
export function colorEnabled(options: { mode: OutputMode; env: Environment }): boolean {
  if (options.mode === 'json') return false;
  if (options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '') return false;
  if (isSet(options.env.FORCE_COLOR)) return true;
  return options.mode === 'tty';
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;
export type StyleName = keyof typeof CODES;
export type Styler = Record<StyleName, (text: string) => string>;

export function makeStyler(color: boolean): Styler {
  const entries = Object.entries(CODES).map(([name, [open, close]]) => [
    name,
    color ? (text: string) => `\u001B[${open}m${text}\u001B[${close}m` : (text: string) => text,
  ]);
  return Object.fromEntries(entries) as Styler;
}

export type Row = Record<string, string | number | boolean | undefined>;

/** Renders rows as aligned columns; `columns` picks and orders the keys and names the headers. */
export function renderTable(rows: Row[], columns: Array<[key: string, header: string]>): string {
  const cells = rows.map((row) => columns.map(([key]) => String(row[key] ?? '')));
  const headers = columns.map(([, header]) => header);
  // Colour codes take no room on the screen.
  const width = (cell: string) => stripAnsi(cell).length;
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => width(line[i]!))));
  const format = (line: string[]) =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell))))
      .join('  ')
      .trimEnd();
  return [format(headers), ...cells.map(format)].join('\n');
}

/** The only place that writes to the terminal. */
export class Output {
  readonly style: Styler;

  constructor(
    readonly mode: OutputMode,
    readonly color: boolean,
    private readonly stdout: Writable = process.stdout,
    private readonly stderr: Writable = process.stderr,
  ) {
    this.style = makeStyler(color);
  }

  /** Builds the output for this process from its flags and environment. */
  static forProcess(json: boolean, env: Environment = process.env): Output {
    const mode = detectOutputMode({ json, isTTY: Boolean(process.stdout.isTTY), env });
    return new Output(mode, colorEnabled({ mode, env }));
  }

  get json(): boolean {
    return this.mode === 'json';
  }

  /** A line for people: suppressed in JSON mode so stdout stays one document. */
  line(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** Progress and warnings: to stderr, so piping stdout keeps only the result. Silent in JSON mode. */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    if (!this.json) this.stderr.write(`${this.style.yellow('warning')} ${text}\n`);
  }

  /** The command's result: one JSON document in JSON mode, otherwise whatever `human` prints. */
  result<T>(data: T, human: (out: Output, data: T) => void): void {
    if (this.json) this.document(data);
    else human(this, data);
  }

  /** Writes one JSON document to stdout. */
  document(data: unknown): void {
    this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  }

  /** Error text always goes to stderr. */
  errorText(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  get stdoutStream(): Writable {
    return this.stdout;
  }

  get stderrStream(): Writable {
    return this.stderr;
  }
}

/** A duration for people: "350 ms", "4.2 s", "2 min 36 s", "3 h 5 min". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `text` as one word for a POSIX shell: as it is when it can be, single-quoted otherwise. */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
