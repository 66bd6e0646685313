// The tutorials pbx ships, and those still to come (listed with what they wait for, never faked).
import { movieReviews } from './movie-reviews';
import { redisCache } from './redis-cache';
import { systemMetrics } from './system-metrics';
import { workers } from './workers';
import type { ComingTutorial, Tutorial } from './types';

export const TUTORIALS: readonly Tutorial[] = [movieReviews, redisCache, workers, systemMetrics];

export const COMING: readonly ComingTutorial[] = [
  {
    name: 'word-count',
    title: 'Word count with shell operators',
    after: 'shellstreaming',
    waitsFor: 'its steps to be written (shell operators, `.shell()` and `pbx run --shell`, have just landed)',
  },
];

/** The tutorial of that name, or undefined. */
export function findTutorial(name: string): Tutorial | undefined {
  return TUTORIALS.find((t) => t.name === name);
}
