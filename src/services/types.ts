import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';

/**
 * How pbx proves a service works: a protocol answer, never just an open port. `probeOnce` dispatches on `kind`, so a
 * service brings its probe with its definition; `pbx status` asks the same probe for its quick answer.
 */
export type ReadyProbe =
  | { kind: 'zookeeper-ruok' } // "ruok" → "imok", and "srvr" reports a mode (it has joined or formed a quorum)
  | { kind: 'kafka-roundtrip' } // produce to a check topic and consume the record back; quick: the cluster's metadata
  | { kind: 'cassandra-cql' } // SELECT release_version FROM system.local
  | { kind: 'redis-ping' }; // PING → PONG

/**
 * What a service waits for from a dependency before its container starts, as compose's service_started and
 * service_healthy: `started`, the dependency's container runs (and this service stops waiting for its own readiness
 * when the dependency then fails its probe); `ready`, the dependency answered its probe.
 */
export type DependencyCondition = 'started' | 'ready';

export interface Dependency {
  service: ServiceName;
  condition: DependencyCondition;
  /**
   * The condition instead when the dependency starts on volumes this run made: with no data of an earlier run, it can
   * hold nothing this service must wait out.
   */
  onFreshData?: DependencyCondition;
  /** What this service cannot do while the dependency is not ready, for `pbx status` (which then calls it not ready). */
  neededFor?: string;
}

/**
 * What must hold before a service's container starts, once its dependencies' conditions are met. `of` is the
 * dependency the check asks; when that one started on fresh volumes there is nothing to find, and the check is skipped.
 */
export type StartCheck =
  // ZooKeeper keeps the registration of a broker that died without a clean shutdown until its session expires; a new
  // broker with the same id fails (NodeExists) until then. Waited for at most `timeoutMs`.
  { kind: 'no-stale-broker'; of: ServiceName; timeoutMs: number };

/** One of a service's containers: most services run one, Kafka one per broker. */
export interface ServiceNode {
  /** Its container's name within the project and on its network: `kafka`, or `kafka-2` of several (nodeName). */
  name: string;
  /** 1 … count (a broker's id). */
  index: number;
  count: number;
}

/** Everything Docker needs to run one container of a service, computed from pbx.yaml (pure data, no Docker). */
export interface ServiceSpec {
  name: ServiceName;
  node: ServiceNode;
  image: string;
  /** Whether `image` is built by pbx (`pbx images build`) rather than pulled. */
  localImage: boolean;
  command: string[];
  env: Record<string, string>;
  /** Files the container writes before its command runs: absolute path → content. */
  files: Record<string, string>;
  /** The port inside the container, and where it is published on the host. */
  port: { container: number; host: number; bind: string };
  /** Named volume → mount path; data survives `pbx down` until `--volumes`. */
  volumes: Record<string, string>;
  /**
   * What the volumes' data is, recorded on them when they are made, where another setting of the service cannot
   * use it: Kafka's data in KRaft mode is not a ZooKeeper-mode broker's.
   */
  dataFormat?: string;
  memoryBytes: number;
  /** The services this one needs, each with what its start waits for. */
  dependsOn: Dependency[];
  /** What must hold before the container starts; a running container that is kept is not checked. */
  beforeStart?: StartCheck[];
  /** How long the service may take from container start to its first protocol answer. */
  startupTimeoutMs: number;
}

/** What a service definition sees when it computes its spec. */
export interface SpecContext {
  config: ResolvedConfig;
  /** The image to run, already resolved from `images`/`image` settings. */
  image: string;
  localImage: boolean;
  /** The container the spec is for; `volume` names the node's own volumes. */
  node: ServiceNode;
  volume: (purpose: string) => string;
  memoryBytes: number;
}

/** One service pbx can run: pinned images, its readiness probe, and a pure function from pbx.yaml to a spec. */
export interface ServiceDefinition {
  name: ServiceName;
  /** The service's name as people write it (ZooKeeper), for messages. */
  title: string;
  summary: string;
  /** The pinned public image (`images: upstream`). */
  upstreamImage: string;
  /** The image `pbx images build` makes (`images: local`). */
  localImage: string;
  /** How pbx proves it works, whether pbx runs it or it is external. */
  ready: ReadyProbe;
  /**
   * About how long it takes from its container's start to ready, fresh volumes, on 2 cores (bench/up): the engine
   * starts the slowest first (src/stack/start-order.ts).
   */
  typicalStartMs: number;
  /** How many containers it runs (default 1): Kafka's brokers. */
  nodes?: (config: ResolvedConfig) => number;
  spec(context: SpecContext): Omit<ServiceSpec, 'name' | 'node' | 'image' | 'localImage' | 'memoryBytes'>;
}
