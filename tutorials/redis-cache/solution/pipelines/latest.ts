// Keeps each symbol's latest 20 daily sticks in Redis as JSON, under LATEST_<SYMBOL>_DAILY_STICKS (as sci-pype's
// LATEST_IBM_DAILY_STICKS): the value { symbol, sticks: [...] }, sticks oldest first. Run it with `pbx run latest`.
import { pipeline, redis } from 'pbx';

/** A line of sticks.json. */
export interface Stick {
  symbol: string;
  /** YYYY-MM-DD */
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const KEEP = 20;

export default pipeline('latest')
  .from<Stick>('daily_sticks')
  .keyBy((stick) => stick.symbol)
  .aggregate(
    (): Stick[] => [],
    (sticks, stick) => [...sticks, stick].sort((a, b) => a.date.localeCompare(b.date)).slice(-KEEP),
  )
  .map((result) => ({ symbol: result.key, sticks: result.value }))
  .to(redis<{ symbol: string }>({ key: (latest) => `LATEST_${latest.symbol}_DAILY_STICKS`, type: 'json' }));
