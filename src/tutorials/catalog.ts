// The tutorials pbx ships.
import { movieReviews } from './movie-reviews';
import { redisCache } from './redis-cache';
import { systemMetrics } from './system-metrics';
import { wordCount } from './word-count';
import { workers } from './workers';
import type { Tutorial } from './types';

export const TUTORIALS: readonly Tutorial[] = [movieReviews, redisCache, workers, wordCount, systemMetrics];

/** The tutorial of that name, or undefined. */
export function findTutorial(name: string): Tutorial | undefined {
  return TUTORIALS.find((t) => t.name === name);
}
