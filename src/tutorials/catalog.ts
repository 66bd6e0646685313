// The tutorials pbx ships, and those still to come (listed with what they wait for, never faked).
import { movieReviews } from './movie-reviews';
import { redisCache } from './redis-cache';
import { systemMetrics } from './system-metrics';
import { wordCount } from './word-count';
import { workers } from './workers';
import type { ComingTutorial, Tutorial } from './types';

export const TUTORIALS: readonly Tutorial[] = [movieReviews, redisCache, workers, wordCount, systemMetrics];

export const COMING: readonly ComingTutorial[] = [];

/** The tutorial of that name, or undefined. */
export function findTutorial(name: string): Tutorial | undefined {
  return TUTORIALS.find((t) => t.name === name);
}
