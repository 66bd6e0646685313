// redis-cache (after sci-pype): environments as profiles, and a pipeline keeping each symbol's latest daily sticks
// in Redis as JSON, checked from outside pbx: a Redis client reads the keys and compares their data with sticks.json.
import { count, plural, replayedOnce } from './checks';
import { tutorialRecords } from './files';
import type { CheckResult, StepContext, Tutorial } from './types';

const TOPIC = 'daily_sticks';
const KEEP = 20;

interface Stick {
  symbol: string;
  date: string;
  close: number;
}

const allSticks = () => tutorialRecords<Stick>('redis-cache', 'sticks.json');

/** Each symbol's latest KEEP sticks, oldest first: what the cache must hold. */
export function latestSticks(): Map<string, Stick[]> {
  const bySymbol = new Map<string, Stick[]>();
  for (const stick of allSticks()) bySymbol.set(stick.symbol, [...(bySymbol.get(stick.symbol) ?? []), stick]);
  for (const [symbol, list] of bySymbol)
    bySymbol.set(symbol, list.sort((a, b) => a.date.localeCompare(b.date)).slice(-KEEP));
  return bySymbol;
}

const cacheKey = (symbol: string) => `LATEST_${symbol}_DAILY_STICKS`;

async function profileCheck({ services }: StepContext): Promise<CheckResult> {
  const expected = `Redis answering PING and Kafka with the topic ${TOPIC}`;
  const redis = await services.redis();
  const pong = await redis.ping();
  const records = await services.topicRecords(TOPIC);
  if (records === undefined)
    return { ok: false, expected, found: `Redis answers ${pong}, Kafka has no topic ${TOPIC}` };
  return { ok: true, expected, found: `Redis answers ${pong}; Kafka has ${TOPIC}` };
}

const replayCheck = ({ services }: StepContext) =>
  replayedOnce(services, {
    topic: TOPIC,
    total: allSticks().length,
    expected: `all ${count(allSticks().length)} sticks of sticks.json in ${TOPIC}, each once`,
  });

/** What one symbol's key holds against what it should, in a few words; undefined when right. */
function keyProblem(symbol: string, text: string | null, want: Stick[]): string | undefined {
  const key = cacheKey(symbol);
  if (text === null) return `${key} is not set`;
  let value: { sticks?: Stick[] };
  try {
    value = JSON.parse(text) as { sticks?: Stick[] };
  } catch {
    return `${key} is not JSON (${text.slice(0, 40)})`;
  }
  const got = Array.isArray(value?.sticks) ? value.sticks : [];
  const last = got.at(-1);
  const lastWanted = want.at(-1)!;
  if (got.length !== want.length || last?.date !== lastWanted.date || last?.close !== lastWanted.close) {
    return `${key} holds ${plural(got.length, 'stick')}${last ? ` up to ${last.date}` : ''}, not the latest ${want.length} up to ${lastWanted.date}`;
  }
  const wrong = got.find((s, i) => s.date !== want[i]!.date || s.close !== want[i]!.close);
  return wrong ? `${key} has ${wrong.date} at ${wrong.close}, sticks.json says otherwise` : undefined;
}

async function cacheCheck({ services }: StepContext): Promise<CheckResult> {
  const latest = latestSticks();
  const expected = `${[...latest.keys()].map(cacheKey).join(', ')}: each the latest ${KEEP} sticks as JSON`;
  const redis = await services.redis();
  const symbols = [...latest.keys()];
  const values = await redis.mget(...symbols.map(cacheKey));
  const problems = symbols.flatMap((s, i) => keyProblem(s, values[i] ?? null, latest.get(s)!) ?? []);
  if (problems.length > 0) return { ok: false, expected, found: problems.join('; ') };
  return { ok: true, expected, found: `${symbols.map(cacheKey).join(', ')} each hold the latest ${KEEP} sticks` };
}

export const redisCache: Tutorial = {
  name: 'redis-cache',
  title: 'A Redis result cache fed by a stream',
  after: 'sci-pype',
  summary: 'Environments as profiles; the latest sticks per symbol kept in Redis as JSON, read back from outside pbx.',
  minutes: 10,
  projectFiles: ['pbx.yaml', 'sticks.json', 'README.md'],
  steps: [
    {
      id: 'profile',
      title: 'Environments are profiles',
      teaches:
        "sci-pype's environments (Local, JustRedis, JustDB…) chose which services ran. In pbx.yaml they are profiles: `cache` is Kafka and Redis, `db` is Cassandra. `pbx up --profile cache` starts only those, and returns once each answers at the protocol level (Redis PING, a Kafka round trip), not when a port opens.",
      todo: ['$ pbx up --profile cache', 'then `pbx status` shows what runs'],
      expects: `Redis answering PING and Kafka with the topic ${TOPIC}`,
      check: profileCheck,
      hint: 'Run it where pbx.yaml is; `pbx config` shows the profiles.',
      solution: [{ kind: 'run', argv: ['up', '--profile', 'cache'] }],
      solveTimeoutMs: 60_000,
    },
    {
      id: 'replay',
      title: 'The daily sticks into Kafka',
      teaches:
        'A year of daily sticks (open, high, low, close, volume) for IBM, SPY and AAPL, keyed by symbol so that each symbol’s sticks stay in order in one partition.',
      todo: [`$ pbx replay sticks.json --topic ${TOPIC} --key symbol --rate max`],
      expects: `all sticks of sticks.json in ${TOPIC}`,
      check: replayCheck,
      hint: 'Replay it once: a second replay sends every stick again (then `pbx down --volumes` and start over, or replay with --checkpoint).',
      solution: [
        { kind: 'run', argv: ['replay', 'sticks.json', '--topic', TOPIC, '--key', 'symbol', '--rate', 'max'] },
      ],
    },
    {
      id: 'cache',
      title: 'The latest sticks, cached in Redis',
      teaches:
        'A keyed aggregate keeps each symbol’s latest 20 sticks; the Redis sink writes them as one JSON value per symbol, as sci-pype cached LATEST_IBM_DAILY_STICKS. The check reads the keys with a Redis client of its own and compares their data with sticks.json: the cache is loaded, not only its port open. Try it yourself: `docker exec pbx-redis-cache-redis redis-cli GET LATEST_IBM_DAILY_STICKS`.',
      todo: ['write pipelines/latest.ts', '$ pbx run latest', 'leave it running: the cache follows each new stick'],
      starters: { 'pipelines/latest.ts': 'starters/pipelines/latest.ts' },
      expects: `the latest ${KEEP} sticks of each symbol in Redis as JSON`,
      check: cacheCheck,
      hint: "keyBy(symbol) → aggregate(() => [], (sticks, s) => [...sticks, s].sort(by date).slice(-20)) → map(r => ({ symbol: r.key, sticks: r.value })) → redis({ key: (v) => `LATEST_${v.symbol}_DAILY_STICKS`, type: 'json' }).",
      solution: [
        { kind: 'write', path: 'pipelines/latest.ts', from: 'solution/pipelines/latest.ts' },
        { kind: 'start', name: 'cache pipeline', argv: ['run', 'latest'] },
      ],
    },
  ],
};
