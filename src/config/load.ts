import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parse, parseDocument, Scalar, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../cli/errors';
import { closest } from '../cli/similar';
import { configSchema, SERVICE_NAMES, type ParsedConfig, type ServiceName } from './schema';

export const CONFIG_FILE_NAMES = ['pbx.yaml', 'pbx.yml'];
const DEFAULT_PROJECT_NAME = 'pbx';

/** The configuration every command works from: the file's settings with defaults filled in. */
export interface ResolvedConfig extends ParsedConfig {
  name: string;
  /** Absolute path of pbx.yaml, or null when running on defaults. */
  file: string | null;
  /** Where relative paths in the file (CQL schema files, data) are resolved from. */
  projectDir: string;
  profiles: Record<string, ServiceName[]>;
}

/** Looks for pbx.yaml in `cwd` and its parents, like git and docker compose do. */
export function findConfigFile(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const candidate = join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export interface LoadOptions {
  /** An explicit file (--config / PBX_CONFIG); it must exist. */
  file?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** Loads, interpolates and validates pbx.yaml; falls back to defaults when there is none. */
export function loadConfig(options: LoadOptions = {}): ResolvedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.file ? resolve(cwd, options.file) : findConfigFile(cwd);
  if (options.file && (!file || !existsSync(file))) {
    throw new UserError(`Config file ${file} does not exist.`, {
      code: 'CONFIG_NOT_FOUND',
      nextSteps: ['Check the path given with --config or PBX_CONFIG.', 'Run `pbx init` to create a pbx.yaml.'],
    });
  }
  if (!file) return resolveConfig(configSchema.parse({}), null, cwd);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read ${file}: ${(error as Error).message}`, {
      code: 'CONFIG_UNREADABLE',
      cause: error,
    });
  }
  const config = resolveConfig(parseConfigText(text, file, env), file, dirname(file));
  checkCertificateFiles(config);
  return config;
}

/** A TLS certificate file that is not there is pbx.yaml's error, said before anything tries to connect. */
function checkCertificateFiles(config: ResolvedConfig): void {
  for (const service of ['kafka', 'cassandra'] as const) {
    const tls = config.services[service].external?.tls;
    if (typeof tls !== 'object' || !tls.ca) continue;
    const path = resolve(config.projectDir, tls.ca);
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      // reported below
    }
    if (!isFile) {
      throw configError(
        `${config.file}: services.${service}.external.tls.ca: ${path} is not a file (paths are relative to pbx.yaml)`,
      );
    }
  }
}

/** Parses the text of a pbx.yaml; errors name the file, line and column and what was expected. */
export function parseConfigText(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const { line } = lineCounter.linePos(syntaxError.pos[0]);
    // `{port: ${P}}`: in a { } or [ ] collection, YAML reads the ${ as the start of another mapping.
    const why = /[{[].*\$\{/.test(text.split('\n')[line - 1] ?? '')
      ? ' (inside { } or [ ], a ${VAR} must be quoted; unquoted, write the setting on a line of its own)'
      : '';
    throw configError(`${at(syntaxError.pos[0])}: invalid YAML: ${firstLine(syntaxError.message)}${why}`);
  }
  interpolate(doc, env, at);
  const result = configSchema.safeParse(doc.toJS() ?? {}, { reportInput: true });
  if (result.success) return result.data;
  // One line per unknown key, each at its own position.
  const issues = result.error.issues.flatMap((issue): Issue[] =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => ({ ...issue, keys: [key] })) : [issue],
  );
  const problems = issues.map((issue) => `${at(issueOffset(doc, issue))}: ${describeIssue(issue)}`);
  throw configError(problems.join('\n'));
}

function configError(message: string): UserError {
  return new UserError(message, {
    code: 'CONFIG_INVALID',
    hint: 'pbx.yaml did not match what pbx expects.',
    nextSteps: ['Fix the setting named above.', 'Run `pbx config` to see the resolved configuration with defaults.'],
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

// ${VAR} and ${VAR:-default} in values, so secrets such as SASL passwords stay out of the file.
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function interpolate(doc: Document, env: Record<string, string | undefined>, at: (offset: number) => string): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const text = node.value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
        const value = env[name];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        throw configError(`${at(node.range?.[0] ?? 0)}: environment variable ${name} is not set`);
      });
      node.value = node.type === Scalar.PLAIN ? asIfWritten(text) : text;
    },
  });
}

/** An unquoted value reads as if its text had been written there: `port: ${PORT:-6379}` is a number. */
function asIfWritten(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return typeof value === 'number' || typeof value === 'boolean' ? value : text;
  } catch {
    return text;
  }
}

type Issue = z.core.$ZodIssue;

/** Points at the offending value, or at the key for unknown keys, or at the parent for missing ones. */
function issueOffset(doc: Document, issue: Issue): number {
  const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
  for (let depth = path.length; depth >= 0; depth--) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Node | null | undefined;
    if (!node) continue;
    if (issue.code === 'unrecognized_keys' && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && issue.keys.includes(String(item.key.value)));
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return keyNode.range[0];
    }
    if (node.range) return node.range[0];
  }
  return 0;
}

function describeIssue(issue: Issue): string {
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the file';
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown setting "${issue.keys[0]}" in ${where}${unknownKeyHint(issue.path, issue.keys[0]!)}`;
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === 'array') {
        const got = Array.isArray(issue.input) ? `, got ${issue.input.length}` : '';
        return `${where}: expected at ${small ? 'least' : 'most'} ${bound} entr${bound === 1 ? 'y' : 'ies'}${got}`;
      }
      if (issue.origin !== 'number') return `${where}: ${issue.message}`;
      const relation = issue.inclusive === false ? (small ? 'more than' : 'less than') : small ? 'at least' : 'at most';
      return `${where}: expected ${relation} ${bound}${typeof issue.input === 'number' ? `, got ${issue.input}` : ''}`;
    }
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      return `${where}: expected ${issue.expected}${issue.input === undefined ? ' (missing)' : `, got ${describeValue(issue.input)}`}`;
    case 'invalid_union': {
      // zod says only "Invalid input": the kinds of value the alternatives take say more.
      const kinds = new Set(
        issue.errors.flatMap((alternative) =>
          alternative.flatMap((i) => (i.code === 'invalid_type' && i.path.length === 0 ? [i.expected] : [])),
        ),
      );
      if (kinds.size === 0) return `${where}: ${issue.message}`;
      const list = [...kinds];
      const expected = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : list[0];
      return `${where}: expected ${expected}${issue.input === undefined ? '' : `, got ${describeValue(issue.input)}`}`;
    }
    default:
      return `${where}: ${issue.message}`;
  }
}

/** For a misspelt setting the one it resembles; for one written in the wrong place, where it goes. */
function unknownKeyHint(path: PropertyKey[], key: string): string {
  const here = path.filter((part) => typeof part === 'string');
  const known = settingPaths(configSchema);
  const siblings = known.filter((p) => p.length === here.length + 1 && here.every((part, i) => p[i] === part));
  const typed = key.toLowerCase();
  const names = siblings.map((p) => p.at(-1)!);
  // "user" for "username" is a shortening, not a misspelling.
  const meant =
    (typed.length >= 3 ? names.find((name) => name.startsWith(typed)) : undefined) ??
    closest(typed, names, Math.min(2, key.length - 1));
  if (meant) return ` (did you mean "${meant}"?)`;
  const elsewhere = known.filter((p) => p.at(-1) === key).map((p) => p.slice(0, -1).join('.') || 'the top level');
  return elsewhere.length > 0 ? ` (it goes under ${elsewhere.join(' or ')})` : '';
}

/** Every setting's path in the schema, list entries' settings under their list's path. */
function settingPaths(schema: z.core.$ZodType, prefix: string[] = []): string[][] {
  const def = schema._zod.def as unknown as {
    shape?: Record<string, z.core.$ZodType>;
    element?: z.core.$ZodType;
    options?: z.core.$ZodType[];
    in?: z.core.$ZodType;
    innerType?: z.core.$ZodType;
  };
  if (def.shape) {
    return Object.entries(def.shape).flatMap(([key, value]) => [
      [...prefix, key],
      ...settingPaths(value, [...prefix, key]),
    ]);
  }
  const inner = def.element ?? def.in ?? def.innerType;
  if (inner) return settingPaths(inner, prefix);
  return (def.options ?? []).flatMap((option) => settingPaths(option, prefix));
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function resolveConfig(parsed: ParsedConfig, file: string | null, projectDir: string): ResolvedConfig {
  const name = parsed.name ?? (file ? projectNameFromDir(projectDir) : DEFAULT_PROJECT_NAME);
  const profiles = { default: defaultServices(parsed), ...parsed.profiles };
  return { ...parsed, name, file, projectDir, profiles };
}

/** ZooKeeper only serves Kafka, so KRaft or an external Kafka drops it. */
export function defaultServices(config: Pick<ParsedConfig, 'services'>): ServiceName[] {
  const kafka = config.services.kafka;
  const needsZookeeper = kafka.mode === 'zookeeper' && !kafka.external;
  return SERVICE_NAMES.filter((name) => name !== 'zookeeper' || needsZookeeper);
}

/** A directory name turned into a valid project name ("My App" → "my-app"). */
export function projectNameFromDir(dir: string): string {
  const cleaned = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 40);
  return cleaned || DEFAULT_PROJECT_NAME;
}
