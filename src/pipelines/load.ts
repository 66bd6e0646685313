// Loading a project's pipeline module: `pbx run reviews-per-hour` imports pipelines/reviews-per-hour.ts at run
// time, with the bare specifier 'pbx' resolved to this very API (api.ts), so the module's `pipeline(...)` builds
// the spec with pbx's own objects. Everything that can go wrong is said at the module's file and line.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../cli/errors';
import { closest } from '../cli/similar';
import * as api from './api';
import { SPEC, type PipelineSpec } from './api';
import { ESBUILD_ERROR, describeValue, moduleErrorPosition, sourceExcerpt, type SourcePosition } from './module-errors';

/** The extensions a pipeline module may have, in the order a bare name looks for them. */
export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** Where a project keeps its pipeline modules, relative to its directory. */
export const PIPELINES_DIR = 'pipelines';

export interface LoadedPipeline {
  spec: PipelineSpec;
  /** The module's absolute path. */
  file: string;
}

/**
 * Imports a pipeline module and returns the spec its default export carries. A bare name is
 * `<projectDir>/pipelines/<name>.ts` (or .mts, .js, .mjs); anything with a slash or an extension is a file, relative
 * to the working directory.
 */
export async function loadPipeline(nameOrFile: string, projectDir: string): Promise<LoadedPipeline> {
  const file = pipelineFile(nameOrFile, projectDir);
  const exports = await importModule(file, projectDir);
  return { spec: specOf(exports, file), file };
}

/** The module a name or path means, or a PIPELINE_NOT_FOUND error listing what there is. */
export function pipelineFile(nameOrFile: string, projectDir: string, cwd = process.cwd()): string {
  const dir = join(projectDir, PIPELINES_DIR);
  const isPath = /[\\/]/.test(nameOrFile) || extname(nameOrFile) !== '';
  const candidates = isPath
    ? [resolve(cwd, nameOrFile), join(dir, nameOrFile)]
    : MODULE_EXTENSIONS.map((extension) => join(dir, `${nameOrFile}${extension}`));
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  if (found) return found;
  const names = pipelineNames(dir);
  const meant = closest(basename(nameOrFile, extname(nameOrFile)), names, Math.min(3, nameOrFile.length >> 1));
  throw new UserError(
    isPath
      ? `No pipeline module at ${candidates[0]}.`
      : `No pipeline "${nameOrFile}" in ${dir} (looked for ${MODULE_EXTENSIONS.map((e) => nameOrFile + e).join(', ')}).`,
    {
      code: 'PIPELINE_NOT_FOUND',
      nextSteps: [
        ...(meant ? [`Did you mean \`pbx run ${meant}\`?`] : []),
        names.length > 0
          ? `The pipelines in ${dir}: ${names.join(', ')}.`
          : `${dir} has no pipeline module: write one there (\`pbx init\` writes pipelines/example.ts), or give the module's path.`,
      ],
      details: { pipelines: names },
    },
  );
}

/** The pipeline names in a directory: its modules' file names without extension (declarations and tests left out). */
export function pipelineNames(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const modules = entries.filter(
    (name) =>
      (MODULE_EXTENSIONS as readonly string[]).includes(extname(name)) && !/\.d\.m?ts$|\.(test|spec)\.\w+$/.test(name),
  );
  return [...new Set(modules.map((name) => basename(name, extname(name))))].sort();
}

/** The module's exports; a failure to load becomes a PIPELINE_MODULE_FAILED error at the module's file and line. */
async function importModule(file: string, projectDir: string): Promise<Record<string, unknown>> {
  await providePbxModule();
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw moduleLoadError(error, file, projectDir);
  }
}

let provided: Promise<void> | undefined;

/** Makes `import ... from 'pbx'` resolve to this API, once per process, before any module is imported. */
function providePbxModule(): Promise<void> {
  provided ??= 'Bun' in globalThis ? Promise.resolve(provideForBun()) : provideForNode();
  return provided;
}

// The compiled binary: a virtual module whose exports are this module's own objects (no second copy of the API).
function provideForBun(): void {
  Bun.plugin({
    name: 'pbx-api',
    setup(build) {
      build.module('pbx', () => ({ exports: api, loader: 'object' }));
    },
  });
}

// Node (the npm package, tsx in development): a resolve hook maps 'pbx' to a module that re-exports this API
// from a global, as hooks run on another thread and cannot hand objects over; a module Node reads as CommonJS
// (tsx does, outside a "type": "module" package) finds it in require's cache. TypeScript then loads only where
// Node strips types (22.18 and later); JavaScript modules load everywhere.
async function provideForNode(): Promise<void> {
  const { default: Module, register } = await import('node:module');
  const cjs = Module as unknown as {
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
    _cache: Record<string, unknown>;
  };
  const resolveFilename = cjs._resolveFilename;
  cjs._resolveFilename = function (request, ...rest) {
    return request === 'pbx' ? 'pbx' : resolveFilename.call(this, request, ...rest);
  };
  cjs._cache.pbx = { id: 'pbx', filename: 'pbx', loaded: true, exports: api };
  const key = 'pbx.api';
  (globalThis as Record<symbol, unknown>)[Symbol.for(key)] = api;
  const source = [
    `const api = globalThis[Symbol.for(${JSON.stringify(key)})];`,
    ...Object.keys(api).map((name) => `export const ${name} = api.${name};`),
  ].join('\n');
  const pbxUrl = `data:text/javascript,${encodeURIComponent(source)}`;
  const hooks = `export async function resolve(specifier, context, next) {
  return specifier === 'pbx' ? { url: ${JSON.stringify(pbxUrl)}, shortCircuit: true } : next(specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** What went wrong while a module loaded, as the user can act on it. */
export function moduleLoadError(error: unknown, file: string, projectDir: string): UserError {
  const e = (error ?? {}) as { code?: string; message?: string };
  if (e.code === 'ERR_UNKNOWN_FILE_EXTENSION') {
    return new UserError(`Node ${process.version} cannot load the TypeScript module ${file}.`, {
      code: 'PIPELINE_NEEDS_TYPESCRIPT',
      hint: 'The npm package runs under Node, which reads TypeScript only from version 22.18 on.',
      nextSteps: [
        'Run it with the single binary pbx, which loads TypeScript itself (README: Installing).',
        'Or use Node 22.18 or later, or write the module in JavaScript (pipelines/<name>.mjs).',
      ],
      cause: error,
    });
  }
  const text = readText(file);
  const position = moduleErrorPosition(error, { file, projectDir, text });
  const where = position ? `${position.file}:${position.line}:${position.column}` : file;
  const { kind, message, nextSteps } = describeFailure(error);
  return new UserError(`${where}: ${kind}: ${message}`, {
    code: 'PIPELINE_MODULE_FAILED',
    hint: position ? excerptOf(position, file, text) : undefined,
    nextSteps,
    details: { file: position?.file ?? file, line: position?.line, column: position?.column },
    cause: error,
  });
}

const CHECK_AGAIN = 'Fix it; `pbx run <pipeline> --check` loads and checks a module without connecting to anything.';

function describeFailure(error: unknown): { kind: string; message: string; nextSteps: string[] } {
  const e = (error ?? {}) as { name?: string; message?: string; code?: string; constructor?: { name?: string } };
  const message = typeof e.message === 'string' ? e.message : String(error);
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  if (missing !== undefined && missing !== 'pbx') {
    return {
      kind: 'cannot import',
      message: message.split('\n')[0]!,
      nextSteps: [
        missing.startsWith('pbx/')
          ? "Import pbx's API from 'pbx' itself: `import { pipeline } from 'pbx'`."
          : `Install ${missing} in the project (its node_modules), or import it by a relative path.`,
      ],
    };
  }
  const transform = ESBUILD_ERROR.exec(message);
  if (transform) return { kind: 'syntax error', message: transform[4]!, nextSteps: [CHECK_AGAIN] };
  const syntax = e.constructor?.name === 'BuildMessage' || (e.name === 'SyntaxError' && !/export named/i.test(message));
  if (syntax) return { kind: 'syntax error', message, nextSteps: [CHECK_AGAIN] };
  if (/export named|does not provide an export/i.test(message)) {
    return {
      kind: 'cannot import',
      message,
      nextSteps: ["See what 'pbx' exports in types/pbx.d.ts (`pbx init` writes it) or the README's pipelines section."],
    };
  }
  return {
    kind: 'the module threw while loading',
    message: `${e.name ?? 'Error'}: ${message}`,
    nextSteps: [CHECK_AGAIN, 'Run with --debug for the whole stack.'],
  };
}

function excerptOf(position: SourcePosition, file: string, text: string | undefined): string | undefined {
  const source = position.file === file ? text : readText(position.file);
  return source === undefined ? undefined : sourceExcerpt(source, position);
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The spec a module's default export carries, or a PIPELINE_NOT_EXPORTED error saying what was exported. */
export function specOf(exports: Record<string, unknown>, file: string): PipelineSpec {
  const nextSteps = ["End the module with `export default pipeline('name').from('topic')...to('topic')`."];
  if (!('default' in exports) || exports.default === undefined) {
    const names = Object.keys(exports).filter((name) => name !== 'default');
    throw new UserError(
      `${file} has no default export${names.length > 0 ? `: it exports ${names.join(', ')}` : ' (it exports nothing)'}.`,
      { code: 'PIPELINE_NOT_EXPORTED', hint: 'pbx runs the pipeline a module exports as its default.', nextSteps },
    );
  }
  const value: unknown = exports.default;
  const spec: unknown = value !== null && typeof value === 'object' ? Reflect.get(value, SPEC) : undefined;
  if (!isSpec(spec)) {
    throw new UserError(`${file}'s default export is ${describeValue(exports.default)}, not a pipeline.`, {
      code: 'PIPELINE_NOT_EXPORTED',
      hint: "A pipeline is what `pipeline(name)` from 'pbx' and its operators return.",
      nextSteps,
    });
  }
  return spec;
}

function isSpec(value: unknown): value is PipelineSpec {
  const spec = value as Partial<PipelineSpec> | null | undefined;
  return typeof spec?.name === 'string' && Array.isArray(spec.steps) && Array.isArray(spec.sinks);
}

/** Refuses, before anything connects, a pipeline that reads nothing or writes nowhere. */
export function checkSpec(spec: PipelineSpec, file?: string): void {
  const of = `Pipeline "${spec.name}"${file ? ` (${file})` : ''}`;
  if (!spec.source || spec.source.topics.length === 0) {
    throw new UserError(`${of} reads nothing: its module never calls .from(topic).`, {
      code: 'PIPELINE_NO_SOURCE',
      nextSteps: [`Name the topics it reads: \`pipeline('${spec.name}').from('topic')\`.`],
    });
  }
  if (spec.sinks.length === 0) {
    throw new UserError(`${of} writes nowhere: its stream never reaches .to(...).`, {
      code: 'PIPELINE_NO_SINK',
      nextSteps: [
        "End it with `.to('topic')`, `.to(cassandra('keyspace.table'))` or `.to(redis({ key: (r) => ... }))`.",
      ],
    });
  }
}
