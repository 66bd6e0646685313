// `pbx status` as text: the table, and the live view of --watch that redraws it.
import { formatDuration, renderTable, type Styler } from '../cli/output';
import type { RestartRecord, StatusResult } from '../stack/status';
import type { ViewSpec } from './live-view';

/** One look at the stack: what it answered and when. */
export interface StatusFrame {
  project: string;
  result: StatusResult;
  takenAt: Date;
}

/**
 * Each service's state, readiness, endpoint, uptime, image and check, as aligned columns (a row per broker), and under
 * it, where Kafka runs several brokers, what the cluster says of its replication.
 */
export function statusTable(result: StatusResult, style: Styler): string {
  const table = renderTable(
    result.services.map((r) => ({
      service: r.node,
      state: r.state,
      ready: r.ready ? style.green('yes') : style.red('no'),
      endpoint: r.endpoint.addresses.join(','),
      uptime: r.uptimeMs !== undefined ? formatDuration(r.uptimeMs) : '',
      restarts: r.restarts ? restartsText(r.restarts) : '',
      image: r.image ?? '',
      check: r.check,
    })),
    [
      ['service', 'SERVICE'],
      ['state', 'STATE'],
      ['ready', 'READY'],
      ['endpoint', 'ENDPOINT'],
      ['uptime', 'UPTIME'],
      ['restarts', 'RESTARTS'],
      ['image', 'IMAGE'],
      ['check', 'CHECK'],
    ],
  );
  const { kafka } = result;
  if (!kafka || (kafka.brokers <= 1 && kafka.underReplicatedPartitions === 0)) return table;
  const under = kafka.underReplicatedPartitions;
  const partitions = `${under} under-replicated partition${under === 1 ? '' : 's'}`;
  return `${table}\nkafka: ${kafka.brokers} broker${kafka.brokers === 1 ? '' : 's'} in the cluster, ${under > 0 ? style.yellow(partitions) : partitions}`;
}

/** "2 (12.0 s ago: exit 137, out of memory)": how often the engine started it again, when it last did, and why. */
function restartsText({ count, sinceLastMs, lastExit }: RestartRecord): string {
  if (count === 0) return '0';
  const when = sinceLastMs !== undefined ? `${formatDuration(sinceLastMs)} ago: ` : '';
  const why = [
    lastExit?.code !== undefined ? `exit ${lastExit.code}` : 'exit code forgotten',
    ...(lastExit?.oomKilled ? ['out of memory'] : []),
  ];
  return `${count} (${when}${why.join(', ')})`;
}

/** `status --watch`: the table under the time it was taken, a frame each `everyMs` that the command sets. */
export function statusWatch(everyMs: number): ViewSpec<StatusFrame> {
  return {
    to: 'stdout',
    render: ({ project, result, takenAt }, style) =>
      // Each table says when it was taken: piped to a file, the frames follow one another.
      `${style.dim(`${project} at ${takenAt.toTimeString().slice(0, 8)}, every ${everyMs / 1000} s (Ctrl-C stops)`)}\n${statusTable(result, style)}`,
    plainEveryMs: 0,
  };
}
