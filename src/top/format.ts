// Figures as `pbx top` prints them in its narrow columns: a count in at most 7 characters, a duration in at most 6,
// a minute of rates as a sparkline. Pure, for layout.ts.
import { formatBytes } from '../doctor/doctor';
import { formatRate } from '../ui/replay-line';
import { sparkline as barsOf } from './plain';
import type { Rate } from './snapshot';

/** "99,999", "123k", "1.2M", "45.6G": exact while it fits, then three significant figures. */
export function compactCount(n: number): string {
  const abs = Math.abs(n);
  if (abs < 100_000) return Math.round(n).toLocaleString('en-US');
  const [divisor, unit] = abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : [1e3, 'k'];
  const value = n / divisor;
  return `${Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1)}${unit}`;
}

/** A rate per second: "500", "12.5", "0.50", "1.2M"; a dash before two refreshes have been seen. */
export function compactRate(rate: Rate): string {
  if (rate === null) return '–';
  if (rate === 0) return '0';
  return Math.abs(rate) >= 100_000 ? compactCount(rate) : formatRate(rate);
}

/** Bytes as doctor prints them ("1.2 KiB", "45 MiB"); a dash where the cluster does not say. */
export function compactBytes(bytes: number | null): string {
  return bytes === null ? '–' : formatBytes(bytes);
}

/** "350ms", "4.2s", "2m36s", "3h05m", "2d03h": a duration in at most 6 characters. */
export function shortDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const two = (n: number) => String(n).padStart(2, '0');
  const s = Math.floor(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** "12/30/45 ms" or "0.5/1.2/3.4 s": three latencies in one short cell; a dash when none was measured. */
export function percentilesCell(p: { count: number; p50: number; p95: number; p99: number }): string {
  if (p.count === 0) return '–';
  const all = [p.p50, p.p95, p.p99];
  if (all.every((ms) => ms < 1000))
    return `${all.map((ms) => (ms < 10 ? ms.toFixed(1) : Math.round(ms))).join('/')} ms`;
  return `${all.map((ms) => (ms / 1000).toFixed(1)).join('/')} s`;
}

/**
 * The values (oldest first) as `width` bars (plain.ts's sparkline, the one way of drawing them), newest at the right:
 * averaged into buckets when there are more values than bars, padded on the left when fewer.
 */
export function sparkline(values: readonly number[], width: number): string {
  if (width <= 0) return '';
  const points = values.length > width ? buckets(values, width) : [...values];
  return (points.length > 0 ? barsOf(points) : '').padStart(width);
}

function buckets(values: readonly number[], width: number): number[] {
  return Array.from({ length: width }, (_, i) => {
    const from = Math.floor((i * values.length) / width);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / width));
    const slice = values.slice(from, to);
    return slice.reduce((a, v) => a + v, 0) / slice.length;
  });
}
