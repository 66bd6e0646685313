import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** image name → path inside its build context → file content and mode. */
export type ImageFiles = Record<string, Record<string, { content: string; mode: number }>>;

/** Reads the image definitions under `dir` (images/<name>/...), skipping documentation. */
export function readImageFiles(dir: string): ImageFiles {
  const result: ImageFiles = {};
  for (const name of readdirSync(dir).sort()) {
    const imageDir = join(dir, name);
    if (!statSync(imageDir).isDirectory()) continue;
    const files: Record<string, { content: string; mode: number }> = {};
    const walk = (current: string) => {
      for (const entry of readdirSync(current).sort()) {
        const path = join(current, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (!entry.endsWith('.md')) {
          files[relative(imageDir, path)] = { content: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 };
        }
      }
    };
    walk(imageDir);
    result[name] = files;
  }
  return result;
}
