// pbx top's collector: one Snapshot a call, from a few batched requests to Kafka (collect-kafka.ts), what earlier
// calls saw (collect-rows.ts: rates, history, trends, statuses), the figures pipelines and replays publish, and the
// stack's services as `pbx status` sees them. Kafka going away is part of the picture, not an error: the snapshot
// says so and keeps the last rows, and the next call connects again by itself.
import type { Admin } from 'kafkajs';
import { settable, withTimeout } from '../async';
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
/**
 * The figures topic's admin retries as kafkajs does by default: it is opened once, and the one Metadata request of
 * every topic it starts with fails whole on a topic that has no leader yet (one just made by a replay or a pipeline).
 */
const FIGURES_CLIENT: KafkaClientOptions = { ...TOP_CLIENT, retry: { retries: 5, initialRetryTime: 100 } };
/** Longest a refresh waits for Kafka before it says Kafka is down. */
const KAFKA_WITHIN_MS = 4000;
/** The services are checked this often (each check opens a connection to each). */
const SERVICES_EVERY_MS = 2000;
/** After the figures topic could not be read (refused, Kafka down), when to try again. */
const FIGURES_RETRY_MS = 5000;

type KafkaPart = Pick<Snapshot, 'topics' | 'groups' | 'pipelines' | 'replays' | 'figuresError'>;

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
      last = { ...rows, pipelines: figures.pipelines(), replays: figures.replays(), figuresError: figures.error };
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

/**
 * The figures topic, followed from the first refresh on; pipelines and replays not heard from go. The first snapshot
 * waits (within KAFKA_WITHIN_MS) until the topic was read to its end, so that even one snapshot (`pbx top --json`)
 * holds every pipeline and replay that published within the reader's staleness window.
 */
class FiguresWatch {
  private reader: FiguresReader | undefined;
  /** The reader being opened and caught up; kept when a snapshot stops waiting for it, and closed by close(). */
  private opening: Promise<void> | undefined;
  private admin: Admin | undefined;
  private failedAt = -Infinity;
  /** Whether a snapshot has waited for the opening: only the first does, later ones are not held up by it. */
  private waited = false;
  private readonly closing = settable<void>();
  private closed = false;
  /** Why the topic could not be followed (or was not read to its end in time), until it can. */
  error: string | undefined;

  constructor(
    private readonly endpoint: KafkaEndpoint,
    private readonly now: () => number,
  ) {}

  /**
   * Starts following the topic when not yet (it is made when missing), and waits up to KAFKA_WITHIN_MS for it to be
   * read to its end; past that the snapshot says so and the reading goes on. A failure is tried again later.
   */
  async open(): Promise<void> {
    if (this.reader) return;
    if (!this.opening && this.now() - this.failedAt >= FIGURES_RETRY_MS) this.opening = this.start();
    if (!this.opening || this.waited) return;
    this.waited = true;
    const timeout = `the figures topic was not read to its end within ${KAFKA_WITHIN_MS / 1000} s`;
    await withTimeout(this.opening, KAFKA_WITHIN_MS, timeout).catch((error: unknown) => {
      if (!this.reader) this.error = (error as Error).message;
    });
  }

  private async start(): Promise<void> {
    let reader: FiguresReader | undefined;
    try {
      this.admin = (await createKafka(this.endpoint, FIGURES_CLIENT)).admin();
      await this.admin.connect();
      reader = await readFigures({ endpoint: this.endpoint, admin: this.admin });
      await Promise.race([reader.caughtUp, this.closing.promise]);
      if (this.closed) throw new Error('closed');
      this.reader = reader;
      this.error = undefined;
    } catch (error) {
      this.error = (error as Error).message;
      this.failedAt = this.now();
      await reader?.close().catch(() => undefined);
      await this.admin?.disconnect().catch(() => undefined);
      this.admin = undefined;
    } finally {
      this.opening = undefined;
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
    this.closed = true;
    this.closing.resolve();
    // An opening still connecting closes what it made itself when it ends: quitting does not wait for Kafka.
    await withTimeout(this.opening ?? Promise.resolve(), KAFKA_WITHIN_MS, '').catch(() => undefined);
    await this.reader?.close().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
