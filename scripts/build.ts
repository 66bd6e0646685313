// Builds the single executable dist/pbx with `bun build --compile`. Run with bun (npm run build).
import type { BunPlugin } from 'bun';

// Modules that must not be bundled: react-devtools-core is an optional ink peer that crashes the binary
// when left external; ssh2 (docker-modem's ssh:// transport) drags in native addons; gRPC serves only dockerode's
// BuildKit sessions, which pbx never opens (images are built with the classic builder), yet dockerode loads it with
// itself: 20–60 ms before every command's first call to the engine, 5 ms without. All become stubs.
const stubbed = /^(react-devtools-core|ssh2|cpu-features|@grpc\/grpc-js|@grpc\/proto-loader)$/;
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
// `--node-bundle DIR`: the same sources and stubs bundled for node instead (bench/startup's peer).
const nodeBundle = process.argv.indexOf('--node-bundle');
const common = { entrypoints: ['src/main.ts'], format: 'esm' as const, external: ['typescript'], plugins: [stubs] };
const result =
  nodeBundle > 0
    ? await Bun.build({ ...common, target: 'node', outdir: process.argv[nodeBundle + 1]!, naming: 'pbx.mjs' })
    : await Bun.build({
        ...common,
        compile: {
          outfile: 'dist/pbx',
          // Never read .env or bunfig.toml from the user's working directory.
          autoloadDotenv: false,
          autoloadBunfig: false,
        },
        bytecode: true,
        // Only whitespace and syntax: renaming identifiers breaks error class names users see.
        minify: { whitespace: true, syntax: true, identifiers: false },
        sourcemap: 'none',
        // (typescript is external: oclif reads tsconfig through it only in development.)
      });
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(
  `${nodeBundle > 0 ? 'node bundle' : 'dist/pbx'} built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
