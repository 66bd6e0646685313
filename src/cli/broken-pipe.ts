// The reader of stdout going away (`pbx data gen reviews | head`) ends pbx quietly with exit 0, as any Unix tool,
// unless something that writes to stdout has claimed the broken pipe to end cleanly itself: the stdout sink of a
// pipeline, which leaves its consumer group and commits nothing past what stdout took, then exits 0 on its own.
import { ExitCode } from './errors';

let claims = 0;

/** Stops a broken stdout from ending the process at once; the returned function gives the claim back. */
export function claimBrokenPipe(): () => void {
  claims++;
  let released = false;
  return () => {
    if (!released) claims--;
    released = true;
  };
}

export function exitOnBrokenPipe(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE' && claims === 0) process.exit(ExitCode.ok);
}
