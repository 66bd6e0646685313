import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../cli/errors';
import { shellQuote } from '../cli/output';
import { projectNameFromDir } from '../config/load';

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
    'pipelines/.gitkeep': '',
    'data/.gitkeep': '',
    'README.md': `# ${name}

A streaming data project run with [pbx](https://www.npmjs.com/package/pbx).

- \`pbx up\` starts the services in pbx.yaml; \`pbx status\` shows them; \`pbx down\` stops them.
- Put datasets in \`data/\` and replay them into Kafka with \`pbx replay data/FILE --topic events\`.
- Put pipeline modules in \`pipelines/\`.
`,
  };
}

export interface InitResult {
  dir: string;
  name: string;
  created: string[];
  overwritten: string[];
}

/** Writes a new project into `dir`; refuses to overwrite any existing file unless `force`. */
export async function initProject(options: { dir: string; name?: string; force: boolean }): Promise<InitResult> {
  const dir = resolve(options.dir);
  const name = options.name ?? projectNameFromDir(dir);
  const files = projectFiles(name);
  const existing = Object.keys(files).filter((path) => existsSync(join(dir, path)));
  if (existing.length > 0 && !options.force) {
    throw new UserError(`${dir} already has ${existing.join(', ')}; nothing was written.`, {
      code: 'INIT_WOULD_OVERWRITE',
      nextSteps: [
        `Run \`pbx init ${options.dir === '.' ? '' : `${shellQuote(options.dir)} `}--force\` to overwrite them, or choose another directory: \`pbx init my-project\`.`,
      ],
    });
  }
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
  const created = Object.keys(files).filter((path) => !existing.includes(path));
  return { dir, name, created, overwritten: existing };
}
