// pbx top as plain text: what a pipe, a file or a CI log gets (and the terminal until the screen is drawn), one
// block of tables a snapshot, each headed by the time it was taken.
import { formatDuration, renderTable, type Styler } from '../cli/output';
import { formatRate } from '../ui/replay-line';
import type { GroupRow, Rate, Snapshot } from './snapshot';

/** A snapshot as text: Kafka's state, then services, topics (Kafka's own left out), groups, pipelines, replays. */
export function snapshotText(snapshot: Snapshot, style: Styler): string {
  const { kafka } = snapshot;
  const at = new Date(snapshot.time).toTimeString().slice(0, 8);
  const state = kafka.up
    ? style.green(`up, ${kafka.brokers} broker${kafka.brokers === 1 ? '' : 's'}`)
    : style.red(
        `down${kafka.since !== undefined ? ` for ${formatDuration(snapshot.time - kafka.since)}` : ''}: ${kafka.error ?? ''}`,
      );
  const blocks = [`${style.bold(`pbx top: ${snapshot.target}`)} at ${at}, Kafka ${state}`];
  if (snapshot.services.length > 0) {
    blocks.push(
      renderTable(
        snapshot.services.map((s) => ({
          service: s.node,
          state: s.state,
          ready: s.ready ? 'yes' : 'no',
          check: s.check,
        })),
        [
          ['service', 'SERVICE'],
          ['state', 'STATE'],
          ['ready', 'READY'],
          ['check', 'CHECK'],
        ],
      ),
    );
  }
  const topics = snapshot.topics.filter((t) => !t.internal);
  blocks.push(
    topics.length === 0
      ? 'No topics.'
      : renderTable(
          topics.map((t) => ({
            topic: t.name,
            partitions: t.partitions,
            records: t.records,
            rate: rate(t.recordsPerSecond),
            minute: sparkline(t.history),
          })),
          [
            ['topic', 'TOPIC'],
            ['partitions', 'PARTITIONS'],
            ['records', 'RECORDS'],
            ['rate', 'RECORDS/S'],
            ['minute', 'LAST MINUTE'],
          ],
        ),
  );
  if (snapshot.groups.length > 0) blocks.push(groupsTable(snapshot.groups));
  if (snapshot.pipelines.length > 0) {
    blocks.push(
      renderTable(
        snapshot.pipelines.map((p) => ({
          pipeline: `${p.pipeline}/${p.replica}`,
          status: p.status,
          consumed: rate(p.consumed.perSecond),
          errors: p.operators.reduce((sum, o) => sum + o.errors.total, 0),
          dead: p.deadLetters.total,
          p99: `${Math.round(p.endToEnd.lastSecond.p99)} ms`,
        })),
        [
          ['pipeline', 'PIPELINE'],
          ['status', 'STATUS'],
          ['consumed', 'IN/S'],
          ['errors', 'ERRORS'],
          ['dead', 'DEAD LETTERS'],
          ['p99', 'END-TO-END P99'],
        ],
      ),
    );
  }
  if (snapshot.replays.length > 0) {
    blocks.push(
      renderTable(
        snapshot.replays.map((r) => ({
          replay: r.id,
          topic: r.topic,
          target: r.targetRate === null ? 'max' : rate(r.targetRate),
          achieved: rate(r.achievedRate),
          sent: r.total === null ? r.sent : `${r.sent}/${r.total}`,
        })),
        [
          ['replay', 'REPLAY'],
          ['topic', 'TOPIC'],
          ['target', 'TARGET/S'],
          ['achieved', 'ACHIEVED/S'],
          ['sent', 'SENT'],
        ],
      ),
    );
  }
  if (snapshot.figuresError !== undefined) blocks.push(style.yellow(`Pipelines and replays: ${snapshot.figuresError}`));
  return blocks.join('\n\n');
}

function groupsTable(groups: GroupRow[]): string {
  return renderTable(
    groups.map((g) => ({
      group: g.id,
      members: g.members,
      lag: g.lag,
      behind: g.lag > 0 ? formatDuration(g.lagMs) : '',
      trend:
        g.lagTrend === null
          ? ''
          : `${g.lagTrend > 0 ? '+' : g.lagTrend < 0 ? '-' : ''}${formatRate(Math.abs(g.lagTrend))}/s`,
      eta: g.etaMs === null ? (g.lag > 0 ? 'not catching up' : '') : g.etaMs > 0 ? formatDuration(g.etaMs) : '',
      status: g.status,
    })),
    [
      ['group', 'GROUP'],
      ['members', 'MEMBERS'],
      ['lag', 'LAG'],
      ['behind', 'LAG TIME'],
      ['trend', 'TREND'],
      ['eta', 'ETA'],
      ['status', 'STATUS'],
    ],
  );
}

const rate = (r: Rate) => (r === null ? '' : formatRate(r));

const BARS = '▁▂▃▄▅▆▇█';

/** Records/s of the last minute as block characters, scaled to its largest (pure). */
export function sparkline(values: number[]): string {
  const top = Math.max(...values, 0);
  return values.map((v) => (top <= 0 ? BARS[0] : BARS[Math.min(7, Math.floor((v / top) * 7.999))])).join('');
}
