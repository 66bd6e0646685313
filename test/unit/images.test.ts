import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_IMAGE_FILES } from '../../src/images/embedded';
import { IMAGES, contextFiles, imageHash, withParents } from '../../src/images/catalog';
import { readImageFiles } from '../../src/images/files';
import { SERVICES } from '../../src/services/catalog';

describe('image definitions', () => {
  it('are embedded exactly as they are in images/ (run scripts/embed-images.ts after editing)', () => {
    expect(EMBEDDED_IMAGE_FILES).toEqual(readImageFiles(resolve(import.meta.dirname, '../../images')));
  });

  it('build each image after the ones it comes from', () => {
    expect(withParents('kafka')).toEqual(['base', 'jre', 'kafka']);
    expect(withParents('redis')).toEqual(['base', 'redis']);
  });

  it('change the hash of an image and of the images built on it when a file changes', () => {
    const before = { jre: imageHash('jre'), kafka: imageHash('kafka'), redis: imageHash('redis') };
    const file = EMBEDDED_IMAGE_FILES.jre!.Dockerfile!;
    const original = file.content;
    file.content += '\n# changed';
    try {
      expect(imageHash('jre')).not.toBe(before.jre);
      expect(imageHash('kafka')).not.toBe(before.kafka);
      expect(imageHash('redis')).toBe(before.redis);
    } finally {
      file.content = original;
    }
  });

  it('give Cassandra the same cassandra.yaml pbx generates, and services the tags the builder makes', () => {
    expect(contextFiles('cassandra')['conf/cassandra.yaml']?.content).toContain('native_transport_port: 9042');
    for (const name of ['zookeeper', 'kafka', 'cassandra', 'redis'] as const)
      expect(SERVICES[name].localImage).toBe(IMAGES[name].tag);
  });
});
