import { createHash } from 'node:crypto';
import { cassandraYaml } from '../services/cassandra-config';
import { EMBEDDED_IMAGE_FILES } from './embedded';

/** The images pbx builds with no registry, each from the one before it. */
export type ImageName = 'base' | 'jre' | 'zookeeper' | 'kafka' | 'cassandra' | 'redis';

export interface ImageDefinition {
  name: ImageName;
  tag: string;
  /** The pbx image this one is built FROM (none for the debootstrapped base). */
  from?: ImageName;
  /** Resolve pom.xml's dependencies with Maven into this folder of the build context. */
  mavenInto?: string;
  /** Files computed by pbx itself rather than kept in images/ (one source of truth with the service). */
  generated?: () => Record<string, string>;
  /**
   * The upstream image it stands in for, pinned to a patch release: for a service image, the one `pbx up` runs where
   * it can be had (the service's upstreamImage is this). pbx's own runs the same release where it is built from
   * Maven (Kafka 3.9.1, Cassandra 5.0.4), Debian bookworm's where from Debian (ZooKeeper 3.8.0, Redis 7.0.15).
   */
  standsInFor: string;
}

export const IMAGES: Record<ImageName, ImageDefinition> = {
  base: { name: 'base', tag: 'pbx/base:bookworm', standsInFor: 'debian:bookworm-slim' },
  jre: { name: 'jre', tag: 'pbx/jre:17', from: 'base', standsInFor: 'eclipse-temurin:17-jre' },
  zookeeper: { name: 'zookeeper', tag: 'pbx/zookeeper:3.8', from: 'jre', standsInFor: 'zookeeper:3.8.6' },
  kafka: { name: 'kafka', tag: 'pbx/kafka:3.9.1', from: 'jre', mavenInto: 'libs', standsInFor: 'apache/kafka:3.9.1' },
  cassandra: {
    name: 'cassandra',
    tag: 'pbx/cassandra:5.0.4',
    from: 'jre',
    mavenInto: 'lib',
    generated: () => ({ 'conf/cassandra.yaml': cassandraYaml(9042) }),
    standsInFor: 'cassandra:5.0.4',
  },
  redis: { name: 'redis', tag: 'pbx/redis:7.0', from: 'base', standsInFor: 'redis:7.2.5' },
};

/** The build-context files of an image: its folder in images/ plus generated ones. */
export function contextFiles(name: ImageName): Record<string, { content: string; mode: number }> {
  const generated = Object.fromEntries(
    Object.entries(IMAGES[name].generated?.() ?? {}).map(([path, content]) => [path, { content, mode: 0o644 }]),
  );
  return { ...(EMBEDDED_IMAGE_FILES[name] ?? {}), ...generated };
}

/** A digest of everything an image is made from, its parent's digest included: equal digest, same image. */
export function imageHash(name: ImageName): string {
  const hash = createHash('sha256');
  const parent = IMAGES[name].from;
  if (parent) hash.update(imageHash(parent));
  for (const [path, file] of Object.entries(contextFiles(name)).sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`${path}\0${file.mode}\0${file.content}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The image and every image it is built from, parents first. */
export function withParents(name: ImageName): ImageName[] {
  const parent = IMAGES[name].from;
  return parent ? [...withParents(parent), name] : [name];
}
