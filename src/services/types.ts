import type { ResolvedConfig } from '../config/load';
import type { ServiceName } from '../config/schema';

/** How pbx proves a service works: a protocol answer, never just an open port. */
export type ReadyProbe =
  | { kind: 'zookeeper-ruok' } // "ruok" → "imok" on the client port
  | { kind: 'kafka-roundtrip' } // produce to a check topic and consume the record back
  | { kind: 'cassandra-cql' } // SELECT release_version FROM system.local
  | { kind: 'redis-ping' }; // PING → PONG

/** Everything Docker needs to run one service, computed from pbx.yaml (pure data, no Docker). */
export interface ServiceSpec {
  name: ServiceName;
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
  /** Services that must be ready before this one starts. */
  dependsOn: ServiceName[];
  ready: ReadyProbe;
  /** How long the service may take from container start to its first protocol answer. */
  startupTimeoutMs: number;
}

/** What a service definition sees when it computes its spec. */
export interface SpecContext {
  config: ResolvedConfig;
  /** The image to run, already resolved from `images`/`image` settings. */
  image: string;
  localImage: boolean;
  volume: (purpose: string) => string;
  memoryBytes: number;
}

/** One service pbx can run: pinned images plus a pure function from pbx.yaml to a spec. */
export interface ServiceDefinition {
  name: ServiceName;
  summary: string;
  /** The pinned public image (`images: upstream`). */
  upstreamImage: string;
  /** The image `pbx images build` makes (`images: local`). */
  localImage: string;
  spec(context: SpecContext): Omit<ServiceSpec, 'name' | 'image' | 'localImage' | 'memoryBytes'>;
}
