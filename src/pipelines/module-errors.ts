// Where in a pipeline module a load failed, read from whatever the runtime threw: Bun's BuildMessage carries a
// position, a thrown error's stack names the module's frames, an import that cannot be satisfied names only the
// specifier (found in the source), and Node's own syntax errors name none (`node --check` is asked). Pure but
// for that last question.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** 1-based line and column in a file. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

interface ModuleContext {
  /** The module's absolute path. */
  file: string;
  projectDir: string;
  /** The module's source, when it could be read. */
  text?: string;
}

/** Where `error` happened while the module loaded, in the module or a file of its project; undefined if unknown. */
export function moduleErrorPosition(error: unknown, context: ModuleContext): SourcePosition | undefined {
  const e = (error ?? {}) as { position?: Partial<SourcePosition> | null; message?: unknown; stack?: unknown };
  const at = e.position;
  if (at && typeof at.file === 'string' && typeof at.line === 'number' && at.line > 0) {
    return { file: at.file, line: at.line, column: Math.max(1, at.column ?? 1) };
  }
  const message = typeof e.message === 'string' ? e.message : '';
  const transform = ESBUILD_ERROR.exec(message);
  if (transform) return { file: transform[1]!, line: Number(transform[2]), column: Number(transform[3]) + 1 };
  const token = importedName(message);
  if (token !== undefined && context.text !== undefined) {
    const found = findToken(context.text, token);
    if (found) return { file: context.file, ...found };
  }
  const frames = typeof e.stack === 'string' ? stackFrames(e.stack) : [];
  const frame =
    frames.find((f) => f.file === context.file) ?? frames.find((f) => f.file.startsWith(`${context.projectDir}/`));
  if (frame) return frame;
  if (error instanceof SyntaxError && !('Bun' in globalThis)) return nodeSyntaxPosition(context.file);
  return undefined;
}

/** esbuild's error text (tsx in development): `/a/b.ts:5:8: ERROR: Unexpected ";"`, its column 0-based. */
export const ESBUILD_ERROR = /^(\/.+?):(\d+):(\d+): ERROR: (.*)$/m;

/** What an import that failed names: a package not found, or a name a module does not export. */
function importedName(message: string): { text: string; quoted: boolean } | undefined {
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  if (missing !== undefined) return { text: missing, quoted: true };
  const name =
    /Export named '([^']+)' not found/.exec(message)?.[1] ??
    /does not provide an export named '([^']+)'/.exec(message)?.[1];
  return name === undefined ? undefined : { text: name, quoted: false };
}

/** The first place `token` stands in `text` (quoted: as a string literal; else as a whole word). */
function findToken(text: string, token: { text: string; quoted: boolean }): Omit<SourcePosition, 'file'> | undefined {
  const escaped = token.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(token.quoted ? `(['"])${escaped}\\1` : `\\b${escaped}\\b`);
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    const match = pattern.exec(line);
    if (match) return { line: index + 1, column: match.index + 1 };
  }
  return undefined;
}

/** The frames of a V8 or JavaScriptCore stack that name a file: `at f (/a/b.ts:3:9)`, `at file:///a/b.ts:3:9`. */
export function stackFrames(stack: string): SourcePosition[] {
  const frames: SourcePosition[] = [];
  for (const line of stack.split('\n')) {
    const match = /^\s*at (?:.*?\()?((?:file:\/\/)?\/[^():]*?):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!match) continue;
    const [, where, row, column] = match as unknown as [string, string, string, string];
    const file = where.startsWith('file://') ? fileURLToPath(where) : where;
    frames.push({ file, line: Number(row), column: Number(column) });
  }
  return frames;
}

// Node's syntax errors in ES modules carry their position only in the text it prints for an uncaught error:
// `node --check` prints it ("/path/x.mjs:4", the line, a caret under the column).
function nodeSyntaxPosition(file: string): SourcePosition | undefined {
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const [first = '', , caret = ''] = (check.stderr ?? '').split('\n');
  const match = /^(.*):(\d+)$/.exec(first);
  if (!match) return undefined;
  const where = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
  return { file: where, line: Number(match[2]), column: Math.max(1, caret.indexOf('^') + 1) };
}

/** The line at `position` with a caret under its column, as compilers show it. */
export function sourceExcerpt(text: string, position: Pick<SourcePosition, 'line' | 'column'>): string | undefined {
  const line = text.split('\n')[position.line - 1];
  if (line === undefined) return undefined;
  const gutter = `${position.line} | `;
  return `${gutter}${line}\n${' '.repeat(gutter.length - 2)}| ${' '.repeat(Math.max(0, position.column - 1))}^`;
}

/** A value as a sentence can name it: `the function pipeline`, `an object with keys a, b`, `the string "x"`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return value.name ? `the function ${value.name}` : 'a function';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'symbol') return `the symbol ${value.description ?? ''}`.trimEnd();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `the ${typeof value} ${value.toString()}`;
  }
  if (typeof value !== 'object') return 'a value';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (prototype !== null && prototype !== Object.prototype) return `a ${prototype.constructor?.name ?? 'object'}`;
  const keys = Object.keys(value);
  if (keys.length === 0) return 'an empty object';
  return `an object with keys ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''}`;
}
