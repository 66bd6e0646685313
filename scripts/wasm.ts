// The AssemblyScript compiler run shared by scripts/build-wasm.ts and the unit test that checks its output.
import asc from 'assemblyscript/asc';
import { resolve } from 'node:path';

/** The WebAssembly module compiled from src/replay/assembly/json-scan.ts. */
export async function compileJsonScan(root: string): Promise<Buffer> {
  let wasm: Uint8Array | undefined;
  const { error, stderr } = await asc.main(
    [
      resolve(root, 'src/replay/assembly/json-scan.ts'),
      ...['--outFile', 'json-scan.wasm', '-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'],
    ],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('.wasm')) wasm = contents as Uint8Array;
      },
    },
  );
  if (error || !wasm) throw new Error(`asc failed: ${error?.message ?? 'no output'}\n${stderr.toString()}`);
  return Buffer.from(wasm);
}
