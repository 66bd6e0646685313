// Keeps each symbol's latest 20 daily sticks in Redis as JSON, under LATEST_<SYMBOL>_DAILY_STICKS (as sci-pype's
// LATEST_IBM_DAILY_STICKS): the value { symbol, sticks: [...] }, sticks oldest first. Run it with `pbx run latest`.
import { pipeline } from 'pbx';

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

// TODO: .keyBy the symbol, .aggregate an array of the latest 20 sticks (by date), .map the result ({ key, value }) to
// { symbol, sticks }, and .to(redis({ key: (v) => `LATEST_${v.symbol}_DAILY_STICKS`, type: 'json' })).
export default pipeline('latest').from<Stick>('daily_sticks');
