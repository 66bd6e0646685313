// The process layer of shell operators (issue 23): the runtime calls these; README.md here says the protocol.
export { encodeLine, decodeLine, MAX_LINE_BYTES } from './lines';
export { CommandFailed, type FailureReason } from './failure';
export type { CommandOptions } from './process';
export { runBatch } from './batch';
export { LongRunningCommand, DEFAULT_MARKER } from './long-running';
