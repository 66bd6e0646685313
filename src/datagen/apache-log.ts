/**
 * A deterministic Apache access log in the combined log format, one request a line, in time order:
 * `host - user [dd/Mon/yyyy:HH:MM:SS +0000] "METHOD path HTTP/1.1" status bytes "referer" "user agent"`.
 * The requests are spread evenly over `days` whole days from 2024-03-01 (UTC, so a line's date is its day in event
 * time), from a few busy clients and a long tail, mostly 200 with 304, 301, 404, 403, 500 and 503 among them.
 * Same count, days and seed → the same bytes.
 */
import { prng } from './reviews';

/** 2024-03-01T00:00:00Z, in ms: the first day of every log. */
export const APACHE_LOG_START = Date.UTC(2024, 2, 1);
const DAY_MS = 86_400_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// [status, cumulative share]: what a busy site's log looks like.
const STATUSES: ReadonlyArray<readonly [number, number]> = [
  [200, 0.72],
  [304, 0.84],
  [301, 0.88],
  [404, 0.95],
  [403, 0.97],
  [500, 0.99],
  [503, 1],
];
const PATHS = [
  '/',
  '/index.html',
  '/about',
  '/products',
  '/products/42',
  '/products/7?color=red',
  '/cart',
  '/checkout',
  '/search?q=kafka',
  '/blog/2024/streams',
  '/static/app.js',
  '/static/style.css',
  '/images/logo.png',
  '/favicon.ico',
  '/api/orders',
  '/api/users/me',
  '/wp-login.php',
  '/robots.txt',
];
const REFERERS = ['-', 'https://www.example.com/', 'https://www.google.com/search?q=shop', 'https://news.example.org/'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'curl/8.5.0',
  'Googlebot/2.1 (+http://www.google.com/bot.html)',
];
const USERS = ['alice', 'bob', 'carol'];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function statusOf(roll: number): number {
  return STATUSES.find(([, share]) => roll < share)![0];
}

/** Apache's %t: `10/Oct/2000:13:55:36 +0000`, in UTC. */
export function apacheTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/** The log's lines (without newline), in time order. */
export function* generateApacheLog(options: { count: number; seed: number; days?: number }): Generator<string> {
  const random = prng(options.seed);
  const span = (options.days ?? 7) * DAY_MS;
  // A few busy clients and a long tail: client rank = ⌊clients·u³⌋, its address derived from the rank.
  const clients = Math.max(20, Math.floor(options.count / 10));
  for (let i = 0; i < options.count; i++) {
    // Request i falls in the i-th of count equal slices of the span: non-decreasing, spread over every day.
    const time = APACHE_LOG_START + Math.floor(((i + random()) * span) / options.count / 1000) * 1000;
    const client = Math.min(clients - 1, Math.floor(clients * random() ** 3));
    const host = `${10 + (client % 200)}.${(client >> 3) % 256}.${(client * 7) % 256}.${1 + (client % 254)}`;
    const user = random() < 0.05 ? pick(random, USERS) : '-';
    const roll = random();
    const method = roll < 0.85 ? 'GET' : roll < 0.97 ? 'POST' : 'HEAD';
    const path = pick(random, PATHS);
    const status = statusOf(random());
    // %b: "-" when no body was sent.
    const bytes = status === 304 || method === 'HEAD' ? '-' : String(200 + Math.floor(random() ** 2 * 50_000));
    const request = `"${method} ${path} HTTP/1.1"`;
    yield `${host} - ${user} [${apacheTime(time)}] ${request} ${status} ${bytes} "${pick(random, REFERERS)}" "${pick(random, AGENTS)}"`;
  }
}
