import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTutorial } from '../../src/tutorials/catalog';
import { setUpProject } from '../../src/tutorials/project';
import { freePort } from './stack';

const SERVICES = ['zookeeper', 'kafka', 'cassandra', 'redis'] as const;

/**
 * A tutorial's project set up by the engine in a new directory, its pbx.yaml given `project` as its name and free
 * ports, so that it never meets another stack; `pbx tutorial <name>` run there resumes it as its own.
 */
export async function tutorialProject(name: string, project: string): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), `pbx-tutorial-${name}-`)), name);
  await setUpProject({ tutorial: findTutorial(name)!, dir });
  let yaml = readFileSync(join(dir, 'pbx.yaml'), 'utf8').replace(/^name: .*$/m, `name: ${project}`);
  for (const service of SERVICES) {
    const port = await freePort();
    yaml = yaml.includes(`\n  ${service}:\n`)
      ? yaml.replace(`\n  ${service}:\n`, `\n  ${service}:\n    port: ${port}\n`)
      : yaml.replace('\nservices:\n', `\nservices:\n  ${service}: { port: ${port} }\n`);
  }
  writeFileSync(join(dir, 'pbx.yaml'), yaml);
  return dir;
}
