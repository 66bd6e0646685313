/**
 * Commands that stream for as long as the data lasts (replay, and pipelines next) and their heap. JavaScriptCore
 * sizes its heap from the machine's RAM, so on a 24 GiB machine it lets short-lived garbage reach hundreds of MB
 * before collecting. Telling it the machine has 256 MiB keeps a replay of a 1 GiB file at 122–126 MiB peak instead
 * of 160, and was no slower (measured in docs/benchmarks.md). The setting is read only when the runtime starts,
 * so the binary puts it in its environment and replaces itself (execve: same process, same pid, signals and exit
 * code untouched) before doing anything else.
 */
const STREAMING_COMMANDS = new Set(['replay']);
// (A value already in the environment is the user's and is kept.)
const RAM_SETTING = 'BUN_JSC_forceRAMSize';
const STREAMING_RAM_BYTES = String(256 * 1024 * 1024);

export function restartWithStreamingHeap(argv: string[]): void {
  const compiled = process.argv[1]?.startsWith('/$bunfs/') ?? false; // the single binary (not node, not `bun src/…`)
  if (!compiled || !STREAMING_COMMANDS.has(argv[0] ?? '') || process.env[RAM_SETTING] !== undefined) return;
  // The shell's `<(cmd)` hands over a descriptor beyond stdin, stdout and stderr, which bun does not keep open
  // across execve: such a replay keeps the heap setting's absence (a larger peak) rather than lose its input.
  if (argv.some((arg) => /^\/(dev|proc\/self)\/fd\/([3-9]|\d\d+)$/.test(arg))) return;
  // (Node 20's types do not know execve yet; bun has it.)
  const runtime = process as NodeJS.Process & {
    execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never;
  };
  runtime.execve?.(process.execPath, [process.execPath, ...argv], {
    ...process.env,
    [RAM_SETTING]: STREAMING_RAM_BYTES,
  });
}
