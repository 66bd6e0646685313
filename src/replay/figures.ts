// A running replay's figures — its target and achieved rate, what it sent and what it will send — published once a
// second to the figures topic by the publisher pbx run's replicas use, keyed `replay/<host>/<pid>`, for pbx top to
// show wherever it runs. Figures are a view: a cluster that refuses the topic, or a Kafka that stops answering,
// costs the replay nothing, and its end waits at most a few seconds for the last of them.
import { hostname } from 'node:os';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { withTimeout } from '../async';
import type { KafkaEndpoint } from '../clients/kafka';
import { FIGURES_SCHEMA } from '../pipelines/runtime/figures';
import { ensureFiguresTopic, publishFigures, type FiguresPublisher } from '../pipelines/runtime/figures-topic';
import type { ReplayRow } from '../top/snapshot';

/** How long the end of a replay waits for its figures to be set up or their last snapshot sent. */
const STOP_WITHIN_MS = 2000;

export interface ReplayFiguresOptions {
  /** The replay's connection: the figures topic is made with its admin, the snapshots sent by a producer of its own. */
  kafka: Kafka;
  admin: Admin;
  endpoint: KafkaEndpoint;
  /** The replay's figures now, its id, time and schema aside. */
  row: (now: number) => Omit<ReplayRow, 'id' | 'time'>;
  /** Default `<host>/<pid>`. */
  id?: string;
  everyMs?: number;
}

/** Starts publishing a replay's figures in the background; stop() sends the last and a tombstone. */
export function publishReplayFigures(options: ReplayFiguresOptions): { stop(): Promise<void> } {
  const { kafka, admin, endpoint, row, id = `${hostname()}/${process.pid}`, everyMs } = options;
  let producer: Producer | undefined;
  let publisher: FiguresPublisher | undefined;
  let stopped = false;
  const starting = (async () => {
    await ensureFiguresTopic({ admin, endpoint });
    // No retries: a snapshot not sent is replaced by the next one a second later.
    const made = kafka.producer({ retry: { retries: 0 } });
    await made.connect();
    // A replay that ended meanwhile has stopped waiting for it.
    if (stopped) return void (await made.disconnect());
    producer = made;
    publisher = publishFigures({
      figures: { snapshot: (now) => ({ ...row(now), id, time: now, schema: FIGURES_SCHEMA, kind: 'replay' as const }) },
      producer: made,
      everyMs,
    });
  })().catch(() => undefined);
  return {
    stop: async () => {
      stopped = true;
      await withTimeout(starting, STOP_WITHIN_MS, 'figures not set up').catch(() => undefined);
      if (publisher) await withTimeout(publisher.stop(), STOP_WITHIN_MS, 'figures not sent').catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
    },
  };
}
