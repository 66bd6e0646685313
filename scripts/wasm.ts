// The AssemblyScript compiler run shared by scripts/build-wasm.ts and the unit test that checks its output. It
// runs as a command: importing the compiler would bring its global type declarations into this project's.
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The WebAssembly module compiled from src/flow/sources/assembly/json-scan.ts. */
export async function compileJsonScan(root: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'pbx-wasm-'));
  try {
    const out = join(dir, 'json-scan.wasm');
    const source = resolve(root, 'src/flow/sources/assembly/json-scan.ts');
    await execa(resolve(root, 'node_modules/.bin/asc'), [
      ...[source, '--outFile', out],
      ...['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'],
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
