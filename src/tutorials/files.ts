// A tutorial's files ship inside the binary (src/tutorials/embedded.ts, written from tutorials/ by
// scripts/embed-tutorials.ts), except datasets pbx generates the same bytes of: those are made when written.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generateReviews } from '../datagen/reviews';
import { EMBEDDED_TUTORIAL_FILES } from './embedded';

/** tutorial name → path in its directory → content. */
export type TutorialFiles = Record<string, Record<string, string>>;

/**
 * Files of tutorials/ that pbx generates rather than carries (the same bytes: a unit test checks): the
 * movie-reviews sample is `pbx data gen reviews --count 10000 --seed 42`, 3.7 MB the binary need not hold.
 */
export const GENERATED_FILES: Record<string, () => string> = {
  'movie-reviews/reviews.json': () => `${[...generateReviews({ count: 10_000, seed: 42 })].join('\n')}\n`,
};

/** Reads tutorials/<name>/... (documentation for maintainers, *.md at the top, included: tutorials ship READMEs). */
export function readTutorialFiles(dir: string): TutorialFiles {
  const result: TutorialFiles = {};
  for (const name of readdirSync(dir).sort()) {
    const tutorialDir = join(dir, name);
    if (!statSync(tutorialDir).isDirectory()) continue;
    const files: Record<string, string> = {};
    const walk = (current: string) => {
      for (const entry of readdirSync(current).sort()) {
        const path = join(current, entry);
        const inTutorial = relative(tutorialDir, path);
        if (statSync(path).isDirectory()) walk(path);
        else if (!(`${name}/${inTutorial}` in GENERATED_FILES)) files[inTutorial] = readFileSync(path, 'utf8');
      }
    };
    walk(tutorialDir);
    result[name] = files;
  }
  return result;
}

/** The content of one of a tutorial's files, from the binary. */
export function tutorialFile(tutorial: string, path: string): string {
  const generated = GENERATED_FILES[`${tutorial}/${path}`];
  if (generated) return generated();
  const content = EMBEDDED_TUTORIAL_FILES[tutorial]?.[path];
  if (content === undefined) throw new Error(`tutorial ${tutorial} has no file ${path}`);
  return content;
}

const parsed = new Map<string, unknown[]>();

/** The records of one of a tutorial's NDJSON files (a check's reference data), parsed once per process. */
export function tutorialRecords<T>(tutorial: string, path: string): T[] {
  const key = `${tutorial}/${path}`;
  let records = parsed.get(key);
  if (!records) {
    records = tutorialFile(tutorial, path)
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    parsed.set(key, records);
  }
  return records as T[];
}
