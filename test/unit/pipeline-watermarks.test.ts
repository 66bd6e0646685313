import { describe, expect, it } from 'vitest';
import { prng } from '../../src/datagen/reviews';
import { Watermarks } from '../../src/pipelines/runtime/watermarks';

const SOURCES = ['in/0', 'in/1', 'in/2'];

describe('Watermarks', () => {
  it('is -Infinity until every source has marked, then the minimum of their markers', () => {
    const watermarks = new Watermarks(SOURCES);
    watermarks.mark('in/0', 100, false);
    watermarks.mark('in/1', 50, false);
    expect(watermarks.current()).toBe(-Infinity);
    watermarks.mark('in/2', 70, false);
    expect(watermarks.current()).toBe(50);
    watermarks.mark('in/1', 90, false);
    expect(watermarks.current()).toBe(70);
  });

  it('leaves idle sources out, and goes to the largest marker when every source is idle', () => {
    const watermarks = new Watermarks(SOURCES);
    watermarks.mark('in/0', 100, false);
    watermarks.mark('in/1', 10, true); // nothing to read: it holds nothing back
    expect(watermarks.current()).toBe(-Infinity); // in/2 has not marked
    watermarks.mark('in/2', 80, false);
    expect(watermarks.current()).toBe(80);
    watermarks.mark('in/0', 120, true);
    expect(watermarks.current()).toBe(80);
    expect(watermarks.isIdle('in/0')).toBe(true);
    watermarks.mark('in/2', 110, true);
    // Every source idle: each handed over all it had, whichever went idle last.
    expect(watermarks.current()).toBe(120);
    watermarks.mark('in/2', 150, false);
    expect(watermarks.isIdle('in/2')).toBe(false);
    expect(watermarks.current()).toBe(150);
  });

  it('waits for a source that never had a record until it marks idle (-Infinity), then leaves it out', () => {
    const watermarks = new Watermarks(SOURCES);
    watermarks.mark('in/0', 100, false);
    watermarks.mark('in/1', 90, false);
    expect(watermarks.current()).toBe(-Infinity);
    watermarks.mark('in/2', -Infinity, true);
    expect(watermarks.current()).toBe(90);
    watermarks.mark('in/0', 100, true);
    watermarks.mark('in/1', 90, true);
    expect(watermarks.current()).toBe(100);
    const restored = Watermarks.restore(SOURCES, JSON.parse(JSON.stringify(watermarks)));
    expect(restored.isIdle('in/2')).toBe(true);
    restored.mark('in/2', 50, false); // back, behind: it holds nothing back that is passed
    expect(restored.current()).toBe(100);
  });

  it('never goes backwards: a source back from idle behind it, or a marker lower than the last', () => {
    const watermarks = new Watermarks(SOURCES);
    watermarks.mark('in/0', 100, false);
    watermarks.mark('in/1', 5, true);
    watermarks.mark('in/2', 100, false);
    expect(watermarks.current()).toBe(100);
    watermarks.mark('in/1', 20, false); // back, behind the watermark: its values there are late
    expect(watermarks.current()).toBe(100);
    watermarks.mark('in/1', 150, false);
    watermarks.mark('in/0', 200, false);
    watermarks.mark('in/2', 300, false);
    watermarks.mark('in/2', 120, false); // a marker behind the source's own: it keeps 300
    expect(watermarks.current()).toBe(150);
    watermarks.mark('in/1', 400, false);
    expect(watermarks.current()).toBe(200);
  });

  it('refuses a marker that is not a time', () => {
    const watermarks = new Watermarks(['in/0']);
    expect(() => watermarks.mark('in/0', NaN, false)).toThrow(/in\/0/);
    watermarks.mark('in/0', 5, false);
    expect(watermarks.current()).toBe(5);
  });

  it('counts a source it was not given once it marks (a partition added since the start)', () => {
    const watermarks = new Watermarks(['in/0']);
    watermarks.mark('in/0', 100, false);
    expect(watermarks.current()).toBe(100);
    watermarks.mark('in/1', 300, false);
    watermarks.mark('in/0', 400, false);
    expect(watermarks.current()).toBe(300);
  });

  it('equals a reference over random markers, and a restore through JSON goes on the same', () => {
    const random = prng(17);
    const sources = Array.from({ length: 6 }, (_, i) => `t/${i}`);
    let watermarks = new Watermarks(sources);
    // Reference: each source's largest marker and whether its last mark said idle; the watermark, the running
    // maximum of the minimum over the non-idle ones (the largest of all when all are idle), once every source has marked.
    const largest = new Map<string, number>();
    const idle = new Map<string, boolean>();
    let expected = -Infinity;
    for (let i = 0; i < 5000; i++) {
      const source = sources[Math.floor(random() * sources.length)]!;
      const time = Math.floor(random() * (i + 100));
      const isIdle = random() < 0.15;
      watermarks.mark(source, time, isIdle);
      largest.set(source, Math.max(largest.get(source) ?? -Infinity, time));
      idle.set(source, isIdle);
      const active = sources.filter((s) => !idle.get(s)).map((s) => largest.get(s)!);
      const all = sources.map((s) => largest.get(s)!);
      if (largest.size === sources.length)
        expected = Math.max(expected, active.length > 0 ? Math.min(...active) : Math.max(...all));
      expect(watermarks.current()).toBe(expected);
      if (i % 500 === 250) watermarks = Watermarks.restore(sources, JSON.parse(JSON.stringify(watermarks)));
    }
    expect(expected).toBeGreaterThan(1000);
  });

  it('restores -Infinity and markers through JSON, and drops sources no longer read', () => {
    const fresh = Watermarks.restore(SOURCES, JSON.parse(JSON.stringify(new Watermarks(SOURCES))));
    expect(fresh.current()).toBe(-Infinity);

    const watermarks = new Watermarks(['in/0', 'gone/0']);
    watermarks.mark('in/0', 100, false);
    watermarks.mark('gone/0', 50, false);
    const restored = Watermarks.restore(['in/0', 'in/1'], JSON.parse(JSON.stringify(watermarks)));
    expect(restored.current()).toBe(50);
    expect(restored.toJSON().markers).toEqual({ 'in/0': [100, false] });
    restored.mark('in/1', 500, false);
    expect(restored.current()).toBe(100);
  });
});

describe('Watermarks at the end of the input', () => {
  it('closes every window once every source marked its end (+Infinity)', () => {
    const w = new Watermarks(['t/0', 't/1']);
    w.mark('t/0', Infinity, false);
    expect(w.current()).toBe(-Infinity);
    w.mark('t/1', Infinity, false);
    expect(w.current()).toBe(Infinity);
  });
});
