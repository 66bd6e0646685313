// Builds the single executable dist/pbx with `bun build --compile`. Run with bun (npm run build).
import type { BunPlugin } from 'bun';

// Modules that must not be bundled: react-devtools-core is an optional ink peer that crashes the binary
// when left external; ssh2 (docker-modem's ssh:// transport) drags in native addons. Both become stubs.
const stubbed = /^(react-devtools-core|ssh2|cpu-features)$/;
const stubs: BunPlugin = {
  name: 'pbx-stubs',
  setup(build) {
    build.onResolve({ filter: stubbed }, ({ path }) => ({ path, namespace: 'pbx-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'pbx-stub' }, ({ path }) => ({
      contents: `const unavailable = () => { throw new Error('${path} is not available in the pbx binary'); };
export default { connectToDevTools() {}, Client: unavailable };
export const Client = unavailable;`,
      loader: 'js',
    }));
  },
};

const started = performance.now();
const result = await Bun.build({
  entrypoints: ['src/main.ts'],
  compile: {
    outfile: 'dist/pbx',
    // Never read .env or bunfig.toml from the user's working directory.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  format: 'esm',
  bytecode: true,
  // Only whitespace and syntax: renaming identifiers breaks error class names users see.
  minify: { whitespace: true, syntax: true, identifiers: false },
  sourcemap: 'none',
  // oclif reads tsconfig through typescript only in development; never needed in the binary.
  external: ['typescript'],
  plugins: [stubs],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`dist/pbx built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
