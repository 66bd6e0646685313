// Startup benchmark: dist/pbx (bun-compiled) against the same CLI bundled for and run by node.
// Usage: npm run build && npx tsx bench/startup/run.ts [runs]   (prints a Markdown table)
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runs = Number(process.argv[2] ?? 40);
const outDir = resolve(root, 'bench/results/startup');
mkdirSync(outDir, { recursive: true });

// The peer: the identical sources bundled for node by the same bundler, so only the runtime differs.
const bundle = spawnSync('npx', ['bun', 'scripts/build.ts', '--node-bundle', `${outDir}/node`], {
  cwd: root,
  encoding: 'utf8',
});
if (bundle.status !== 0) throw new Error(`node bundle failed: ${bundle.stderr}`);

const variants: Record<string, string[]> = {
  'dist/pbx': [resolve(root, 'dist/pbx')],
  'node pbx.mjs': [process.execPath, `${outDir}/node/pbx.mjs`],
};

function time(command: string[], args: string[]): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const started = performance.now();
    const result = spawnSync(command[0]!, [...command.slice(1), ...args], { cwd: '/', stdio: 'ignore' });
    const elapsed = performance.now() - started;
    if (result.status !== 0) throw new Error(`${command.join(' ')} ${args.join(' ')} exited ${result.status}`);
    if (i >= 3) samples.push(elapsed); // the first runs warm the page cache
  }
  return samples.sort((a, b) => a - b);
}

const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
console.log(`| command | runtime | median ms | p90 ms | ratio (node / pbx) |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const args of [['--version'], ['--help']]) {
  const results = Object.entries(variants).map(([name, command]) => ({ name, samples: time(command, args) }));
  const base = pick(results[0]!.samples, 0.5);
  for (const { name, samples } of results) {
    const median = pick(samples, 0.5);
    console.log(
      `| pbx ${args.join(' ')} | ${name} | ${median.toFixed(1)} | ${pick(samples, 0.9).toFixed(1)} | ${(median / base).toFixed(1)}× |`,
    );
  }
}
console.log(
  `\n${runs} runs each after 3 warm-up runs, from /, on ${process.platform}-${process.arch}, node ${process.version}.`,
);
