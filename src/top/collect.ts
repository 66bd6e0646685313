// pbx top's collector: one Snapshot a call, from a few batched requests to Kafka (collect-kafka.ts), what earlier
// calls saw (collect-rows.ts: rates, history, trends, statuses), the figures pipelines and replays publish, and the
// stack's services as `pbx status` sees them. Kafka going away is part of the picture, not an error: the snapshot
// says so and keeps the last rows, and the next call connects again by itself.
import type { Admin } from 'kafkajs';
import { withTimeout } from '../async';
import { createKafka, kafkaClientConfig, type KafkaClientOptions, type KafkaEndpoint } from '../clients/kafka';
import { loadClusterReads, type ClusterReads } from '../clients/kafkajs-internals';
import type { ResolvedConfig } from '../config/load';
import { readFigures, type FiguresReader } from '../pipelines/runtime/figures-topic';
import { isExternal } from '../services/catalog';
import { endpointOf, kafkaEndpoint } from '../services/endpoints';
import { stackStatus } from '../stack/status';
import { ClusterReader } from './collect-kafka';
import { FlowHistory } from './collect-rows';
import { SNAPSHOT_SCHEMA, type ReplayRow, type Snapshot } from './snapshot';

export interface Collector {
  /** The next snapshot; calls made while one is collected wait their turn. */
  collect(): Promise<Snapshot>;
  close(): Promise<void>;
}

export interface CollectorOptions {
  config: ResolvedConfig;
  /** The clock, ms since the epoch (tests). */
  now?: () => number;
}

const TOP_CLIENT: KafkaClientOptions = {
  clientId: 'pbx-top',
  connectionTimeout: 1000,
  requestTimeout: 3000,
  // A failed read is tried again at the next refresh, a second later: retries would only hold the screen still.
  retry: { retries: 0 },
};
/** Longest a refresh waits for Kafka before it says Kafka is down. */
const KAFKA_WITHIN_MS = 4000;
/** The services are checked this often (each check opens a connection to each). */
const SERVICES_EVERY_MS = 2000;
/** After the figures topic could not be read (refused, Kafka down), when to try again. */
const FIGURES_RETRY_MS = 5000;

type KafkaPart = Pick<Snapshot, 'topics' | 'groups' | 'pipelines' | 'replays'>;

/** A collector of the project's stack (or the external Kafka its config names); connects at the first collect(). */
export function createCollector(options: CollectorOptions): Promise<Collector> {
  const { config, now = Date.now } = options;
  const endpoint = kafkaEndpoint(config);
  const external = isExternal(config, 'kafka');
  const history = new FlowHistory();
  const services = external ? undefined : new ServicesWatch(config, now);
  const figures = new FiguresWatch(endpoint, now);
  let cluster: { reads: ClusterReads; reader: ClusterReader } | undefined;
  let last: KafkaPart = { topics: [], groups: [], pipelines: [], replays: [] };
  let kafka: Snapshot['kafka'] = { up: false, brokers: 0 };
  const disconnect = async () => {
    const was = cluster;
    cluster = undefined;
    await was?.reads.disconnect().catch(() => undefined);
  };
  const readKafka = async () => {
    if (!cluster) {
      const reads = await loadClusterReads(kafkaClientConfig(endpoint, TOP_CLIENT));
      cluster = { reads, reader: new ClusterReader(reads, now) };
      await reads.connect();
    }
    return cluster.reader.read();
  };
  const collectOnce = async (): Promise<Snapshot> => {
    const started = now();
    const [reading, serviceRows] = await Promise.all([
      withTimeout(readKafka(), KAFKA_WITHIN_MS, `Kafka did not answer within ${KAFKA_WITHIN_MS / 1000} s`).then(
        (r) => ({ ok: true as const, r }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      services?.latest() ?? [],
    ]);
    const time = now();
    if (reading.ok) {
      const rows = history.rows(reading.r);
      await figures.open();
      last = { ...rows, pipelines: figures.pipelines(), replays: figures.replays() };
      kafka = { up: true, brokers: reading.r.brokers, since: kafka.up ? kafka.since : time };
    } else {
      await disconnect();
      const error = (reading.error as Error).message;
      kafka = {
        up: false,
        error,
        brokers: kafka.brokers,
        since: kafka.up || kafka.since === undefined ? time : kafka.since,
      };
    }
    return {
      schema: SNAPSHOT_SCHEMA,
      time,
      target: external ? endpointOf(config, 'kafka').addresses.join(',') : config.name,
      kafka,
      services: serviceRows,
      ...last,
      collectMs: now() - started,
    };
  };
  let turn: Promise<unknown> = Promise.resolve();
  return Promise.resolve({
    collect: () => {
      const next = turn.then(collectOnce, collectOnce);
      turn = next.catch(() => undefined);
      return next;
    },
    close: async () => {
      await turn;
      await Promise.all([disconnect(), figures.close()]);
    },
  });
}

/** The stack's services as `pbx status` says, checked in the background at most every SERVICES_EVERY_MS. */
class ServicesWatch {
  private rows: Snapshot['services'] = [];
  private checkedAt = -Infinity;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly now: () => number,
  ) {}

  /** The last rows; the first call waits for them, later ones start a check when due and do not wait. */
  async latest(): Promise<Snapshot['services']> {
    const first = this.checkedAt === -Infinity;
    if (!this.checking && this.now() - this.checkedAt >= SERVICES_EVERY_MS) {
      this.checkedAt = this.now();
      this.checking = stackStatus({ config: this.config })
        .then((status) => void (this.rows = status.services))
        .catch(() => undefined) // Docker away: the last rows stay
        .finally(() => (this.checking = undefined));
    }
    if (first) await this.checking;
    return this.rows;
  }
}

/** The figures topic, followed from the first refresh Kafka answers; pipelines and replays not heard from go. */
class FiguresWatch {
  private reader: FiguresReader | undefined;
  private admin: Admin | undefined;
  private failedAt = -Infinity;

  constructor(
    private readonly endpoint: KafkaEndpoint,
    private readonly now: () => number,
  ) {}

  /** Starts following the topic when not yet (it is made when missing); a failure is tried again later. */
  async open(): Promise<void> {
    if (this.reader || this.now() - this.failedAt < FIGURES_RETRY_MS) return;
    try {
      this.admin = (await createKafka(this.endpoint, TOP_CLIENT)).admin();
      await this.admin.connect();
      this.reader = await withTimeout(
        readFigures({ endpoint: this.endpoint, admin: this.admin }),
        KAFKA_WITHIN_MS,
        'the figures topic did not answer',
      );
    } catch {
      this.failedAt = this.now();
      await this.admin?.disconnect().catch(() => undefined);
      this.admin = undefined;
    }
  }

  // Staleness is judged by this machine's clock, as the reader stamps what it reads.
  pipelines(): Snapshot['pipelines'] {
    return this.reader?.replicas() ?? [];
  }

  replays(): ReplayRow[] {
    return (this.reader?.replays() ?? []).map(({ schema: _schema, kind: _kind, ...row }) => row);
  }

  async close(): Promise<void> {
    await this.reader?.close().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
