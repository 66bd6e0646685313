// A pipeline's shape as plain data (its functions left out), for `pbx run --check` and anything else that shows it.
import type { PipelineSpec, SinkSpec, Step, WindowSpec } from './api';

export interface PipelineShape {
  pipeline: string;
  file: string;
  source: { topics: string[]; format: 'json' | 'text'; eventTime: 'time function' | 'Kafka timestamp' };
  steps: Array<{
    kind: Step['kind'];
    label: string;
    /** Aggregates: the result's field (count, sum or value). */
    field?: string;
    window?: WindowSpec;
    lateness?: number;
    table?: string;
    /** Shell steps: the command, how it runs, and where (stream: in its stage; keyed, window: per key partition). */
    command?: string;
    mode?: 'batch' | 'long-running';
    scope?: 'stream' | 'keyed' | 'window';
  }>;
  sinks: string[];
  /** Keyed state (an aggregate or a window shell after keyBy): the runtime repartitions by key (not after keyBy(),
   * whose topic is partitioned by its key already) and keeps a changelog. */
  stateful: boolean;
}

/** The topology of a checked spec (checkSpec: it has a source). */
export function shapeOf(spec: PipelineSpec, file: string): PipelineShape {
  const source = spec.source ?? { topics: [], format: 'json' as const };
  return {
    pipeline: spec.name,
    file,
    source: {
      topics: source.topics,
      format: source.format,
      eventTime: source.time ? 'time function' : 'Kafka timestamp',
    },
    steps: spec.steps.map(stepOf),
    sinks: spec.sinks.map(sinkName),
    stateful: spec.steps.some(
      (step) => step.kind === 'aggregate' || (step.kind === 'shell' && step.scope === 'window'),
    ),
  };
}

function stepOf(step: Step): PipelineShape['steps'][number] {
  switch (step.kind) {
    case 'aggregate':
      return {
        kind: step.kind,
        label: step.label,
        field: step.aggregation.field,
        ...(step.window ? { window: step.window, lateness: step.lateness } : {}),
      };
    case 'join':
      return { kind: step.kind, label: step.label, table: tableName(step.table) };
    case 'shell':
      return {
        kind: step.kind,
        label: step.label,
        command: step.command,
        mode: step.options.mode,
        scope: step.scope,
        ...(step.window ? { window: step.window, lateness: step.lateness } : {}),
      };
    default:
      return { kind: step.kind, label: step.label };
  }
}

function tableName(table: Extract<Step, { kind: 'join' }>['table']): string {
  switch (table.kind) {
    case 'topic':
      return `topic ${table.topic}`;
    case 'cassandra':
      return `cassandra ${table.keyspace}.${table.table} by ${table.column}`;
    case 'redis':
      return `redis ${table.prefix}*`;
  }
}

/** How a sink is named to people: 'topic counts', 'cassandra reviews.per_hour', 'redis zset', 'stdout'. */
export function sinkName(sink: SinkSpec): string {
  switch (sink.kind) {
    case 'kafka':
      return `topic ${sink.topic}`;
    case 'cassandra':
      return `cassandra ${sink.keyspace}.${sink.table}`;
    case 'redis':
      return `redis ${sink.type}`;
    case 'stdout':
      return 'stdout';
  }
}

const formatMs = (ms: number) => {
  const unit = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ].find(([size]) => ms >= (size as number) && ms % (size as number) === 0);
  return unit ? `${ms / (unit[0] as number)} ${unit[1]}` : `${ms} ms`;
};

/** A window for people: 'tumbling 1 h', 'hopping 1 h every 5 min', 'session gap 30 min'. */
export function windowName(window: WindowSpec): string {
  switch (window.kind) {
    case 'tumbling':
      return `tumbling ${formatMs(window.size)}`;
    case 'hopping':
      return `hopping ${formatMs(window.size)} every ${formatMs(window.advance)}`;
    case 'session':
      return `session gap ${formatMs(window.gap)}`;
  }
}

/** A shell step for people: "`sort | uniq -c` per batch, per key partition, over tumbling 1 d, lateness 0 ms". */
function shellLine(step: PipelineShape['steps'][number]): string {
  const named = step.label === step.command ? '' : ` (${step.label})`;
  const parts = [`\`${step.command}\`${named}`, step.mode === 'long-running' ? 'long-running' : 'per batch'];
  if (step.scope !== 'stream') parts.push('per key partition');
  if (step.window) parts.push(`over ${windowName(step.window)}, lateness ${formatMs(step.lateness ?? 0)}`);
  return parts.join(', ');
}

/** The topology as lines of text, one per stage, in the order records flow. */
export function shapeLines(topology: PipelineShape): string[] {
  const { source } = topology;
  const row = (kind: string, text: string) => `${kind.padEnd(9)} ${text}`.trimEnd();
  const lines = [
    row('from', `${source.topics.join(', ')} (${source.format}; event time from the ${source.eventTime})`),
  ];
  for (const step of topology.steps) {
    if (step.command !== undefined) {
      lines.push(row(step.kind, shellLine(step)));
      continue;
    }
    const what = step.field ?? (step.label === step.kind ? '' : step.label);
    const window = step.window ? ` over ${windowName(step.window)}, lateness ${formatMs(step.lateness ?? 0)}` : '';
    const table = step.table ? ` with ${step.table}` : '';
    lines.push(row(step.kind, `${what}${window}${table}`));
  }
  for (const sink of topology.sinks) lines.push(row('to', sink));
  return lines;
}
