import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { UserError } from '../cli/errors';
import { shellQuote } from '../cli/output';
import { projectNameFromDir } from '../config/load';
import { API_DECLARATION } from './api-declaration';

/** Where a project keeps the declaration of pbx's API, for editors (tsconfig.json's paths name it). */
export const API_TYPES_FILE = 'types/pbx.d.ts';

/** The files of a new project, relative path → content (pure, so tests can read it). */
export function projectFiles(name: string): Record<string, string> {
  return {
    'pbx.yaml': `# pbx project file: \`pbx config\` prints it with every default filled in.
name: ${name}

services:
  kafka:
    port: 9092
    mode: zookeeper        # or kraft (then no ZooKeeper runs)
    topics:
      - name: events
        partitions: 3
  cassandra:
    port: 9042
    schema: []             # CQL files applied after start, e.g. [cql/schema.cql]
  redis:
    port: 6379

# Named subsets of services: \`pbx up --profile cache\`.
profiles:
  cache: [redis]
`,
    'pipelines/example.ts': EXAMPLE_PIPELINE,
    [API_TYPES_FILE]: apiTypes(),
    'data/.gitkeep': '',
    'README.md': `# ${name}

A streaming data project run with [pbx](https://www.npmjs.com/package/pbx).

- \`pbx up\` starts the services in pbx.yaml; \`pbx status\` shows them; \`pbx down\` stops them.
- Put datasets in \`data/\` and replay them into Kafka with \`pbx replay data/FILE --topic events\`.
- Put pipeline modules in \`pipelines/\`: \`pbx run example --check\` loads pipelines/example.ts and prints its
  stages, \`pbx run example\` runs it. \`tsconfig.json\` and \`${API_TYPES_FILE}\` let an editor check modules
  against pbx's API (\`pbx init --editor\` refreshes them after an upgrade of pbx).
`,
  };
}

const EXAMPLE_PIPELINE = `// An example pipeline module: \`pbx run example --check\` shows its stages. To run it on generated reviews:
//   pbx up
//   pbx data gen reviews --count 10000 --out data/reviews.json
//   pbx replay data/reviews.json --topic events --rate max
//   pbx run example --until-end
// It counts each product's good reviews (score 4 or 5) per day, into the topic good-reviews-per-day.
import { pipeline, tumbling } from 'pbx';

/** A line of \`pbx data gen reviews\` (the fields used here). */
interface Review {
  product_id: string;
  /** "1.0" to "5.0" */
  score: string;
  /** Unix seconds */
  time: number;
}

export default pipeline('example')
  .from<Review>('events', { time: (review) => review.time * 1000 })
  .filter((review) => Number(review.score) >= 4)
  .keyBy((review) => review.product_id)
  .window(tumbling('1d'))
  .count()
  .to('good-reviews-per-day');
`;

function apiTypes(): string {
  return `// pbx's pipeline API, for editors: what \`import { ... } from 'pbx'\` gives a pipeline module. Written by pbx init
// (\`pbx init --editor\` writes it again after an upgrade of pbx); tsconfig.json's paths point 'pbx' here.
${API_DECLARATION}`;
}

/** What tsconfig.json's compilerOptions.paths maps 'pbx' to, relative to `base` (the tsconfig's dir or its baseUrl). */
function pbxPath(dir: string, base: string): string {
  const path = relative(base, join(dir, API_TYPES_FILE)).replaceAll('\\', '/');
  return path.startsWith('.') ? path : `./${path}`;
}

const NEW_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    paths: { pbx: [`./${API_TYPES_FILE}`] },
  },
  include: ['pipelines', 'types'],
};

type Tsconfig = { compilerOptions?: { baseUrl?: string; paths?: Record<string, unknown> } };

/** What becomes of tsconfig.json: written new, 'pbx' added to its paths, or left as it is with a note saying why. */
export function tsconfigUpdate(
  dir: string,
  existing: string | undefined,
): { content?: string; action: 'created' | 'updated' | 'unchanged' | 'left'; note?: string } {
  if (existing === undefined) return { content: `${JSON.stringify(NEW_TSCONFIG, null, 2)}\n`, action: 'created' };
  const tsconfig = parseObject(existing);
  const options = tsconfig?.compilerOptions ?? {};
  const wanted = [pbxPath(dir, resolve(dir, options.baseUrl ?? '.'))];
  const entry = `"paths": { "pbx": ${JSON.stringify(wanted)} }`;
  // Comments and trailing commas (which tsc allows) would be lost in a rewrite: the user adds the entry.
  if (tsconfig === undefined) {
    return {
      action: 'left',
      note: `tsconfig.json is not plain JSON, so pbx left it: add ${entry} to its compilerOptions.`,
    };
  }
  const current = options.paths?.pbx;
  if (JSON.stringify(current) === JSON.stringify(wanted)) return { action: 'unchanged' };
  if (current !== undefined) {
    return { action: 'left', note: `tsconfig.json maps 'pbx' elsewhere, so pbx left it: editors need ${entry}.` };
  }
  const updated = { ...tsconfig, compilerOptions: { ...options, paths: { ...options.paths, pbx: wanted } } };
  return { content: `${JSON.stringify(updated, null, 2)}\n`, action: 'updated' };
}

function parseObject(text: string): Tsconfig | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface InitResult {
  dir: string;
  name: string;
  created: string[];
  overwritten: string[];
  /** Files pbx changed in place: tsconfig.json given the paths entry for 'pbx'. */
  updated: string[];
  /** What the user should know or do (a tsconfig.json pbx could not change). */
  notes: string[];
}

/**
 * Writes a new project into `dir`; refuses to overwrite any existing file unless `force`. `editor`: only what an
 * editor needs (types/pbx.d.ts, written again; tsconfig.json's paths), for a project that exists. tsconfig.json is
 * never overwritten: 'pbx' is added to its paths.
 */
export async function initProject(options: {
  dir: string;
  name?: string;
  force: boolean;
  editor?: boolean;
}): Promise<InitResult> {
  const dir = resolve(options.dir);
  const name = options.name ?? projectNameFromDir(dir);
  const all = projectFiles(name);
  const files = options.editor ? { [API_TYPES_FILE]: all[API_TYPES_FILE]! } : all;
  const existing = Object.keys(files).filter((path) => existsSync(join(dir, path)));
  if (existing.length > 0 && !options.force && !options.editor) {
    const here = options.dir === '.' ? '' : `${shellQuote(options.dir)} `;
    throw new UserError(`${dir} already has ${existing.join(', ')}; nothing was written.`, {
      code: 'INIT_WOULD_OVERWRITE',
      nextSteps: [
        `Run \`pbx init ${here}--force\` to overwrite them, or choose another directory: \`pbx init my-project\`.`,
        `To write only what an editor needs to check pipeline modules, run \`pbx init ${here}--editor\`.`,
      ],
    });
  }
  const tsconfigFile = join(dir, 'tsconfig.json');
  const tsconfig = tsconfigUpdate(dir, existsSync(tsconfigFile) ? readFileSync(tsconfigFile, 'utf8') : undefined);
  await writeFiles(dir, { ...files, ...(tsconfig.content === undefined ? {} : { 'tsconfig.json': tsconfig.content }) });
  const created = Object.keys(files).filter((path) => !existing.includes(path));
  return {
    dir,
    name,
    created: tsconfig.action === 'created' ? [...created, 'tsconfig.json'] : created,
    overwritten: existing,
    updated: tsconfig.action === 'updated' ? ['tsconfig.json'] : [],
    notes: tsconfig.note === undefined ? [] : [tsconfig.note],
  };
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  const written: string[] = [];
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    } catch (error) {
      const before = written.length > 0 ? ` (written before that: ${written.join(', ')})` : '';
      throw new UserError(`Cannot write ${target}: ${(error as Error).message}${before}.`, {
        code: 'INIT_UNWRITABLE',
        nextSteps: ['Choose a directory you can write to: `pbx init my-project`.'],
      });
    }
    written.push(path);
  }
}
