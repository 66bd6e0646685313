// A stub until the runtime lands: the lead replaces this file (src/pipelines/runtime/run.ts) with the real one.
import type { Output } from '../../cli/output';
import { UserError } from '../../cli/errors';
import type { ResolvedConfig } from '../../config/load';
import type { PipelineSpec } from '../api';

export interface RunOptions {
  spec: PipelineSpec;
  file: string;
  config: ResolvedConfig;
  replicas: number;
  from: 'earliest' | 'latest';
  untilEnd: boolean;
  reset: boolean;
  onError: 'stop' | 'skip' | 'dead-letter';
  deadLetterTopic?: string;
  sinkTimeoutMs: number;
  out: Output;
  signal: AbortSignal;
}

export interface RunSummary {
  pipeline: string;
  records: number;
}

/** Runs a pipeline until its input ends (untilEnd), a signal, or an error. */
export function runPipeline(options: RunOptions): Promise<RunSummary> {
  return Promise.reject(
    new UserError(`pbx run ${options.spec.name}: the pipeline runtime is not yet in this build.`, {
      code: 'NOT_YET',
    }),
  );
}
