// What a tutorial is, as data: metadata and steps. A step says what it teaches and what to do, checks the learner's
// real services, and carries a hint and a solution that pbx can run for the learner (--solve, or the view's key).
import type { Services } from './services';

/** A check's answer: what the step expects and what the services hold now, in words a learner can act on. */
export interface CheckResult {
  ok: boolean;
  /** "10,000 reviews in movie_reviews" */
  expected: string;
  /** "movie_reviews holds 4,211 of 10,000 records" */
  found: string;
}

/** What a step's check and solution are given: the project and lazily made clients of its services. */
export interface StepContext {
  /** The tutorial's project directory. */
  dir: string;
  services: Services;
  /** Remembered across the checks of one session (a fact found once, such as records' keys, need not be read again). */
  memo: Map<string, unknown>;
}

/**
 * One thing the solution does, as the learner would: a pbx command run to its end, one started and left running
 * (a replay at 2/s, a live pipeline) under a name, one of those stopped (Ctrl-C) or one of its workers killed, or a
 * file written.
 */
export type Action =
  | { kind: 'run'; argv: string[] }
  | { kind: 'start'; name: string; argv: string[] }
  | { kind: 'stop'; name: string }
  /** `kill -9` of one worker (the newest child process) of a command left running, `afterMs` after this action starts. */
  | { kind: 'kill'; name: string; afterMs: number }
  | { kind: 'write'; path: string; /** the tutorial's file whose content is written */ from: string };

/** One step of a tutorial. */
export interface Step {
  id: string;
  title: string;
  /** What the step teaches, a few sentences. */
  teaches: string;
  /** What to do: commands to run in another terminal (lines starting with `$ `) and files to write. */
  todo: string[];
  /** Files the step asks the learner to write: path in the project → the tutorial's starting file for it (reset). */
  starters?: Record<string, string>;
  /** What the check expects, said when it cannot look (a service that does not answer). */
  expects: string;
  check: (context: StepContext) => Promise<CheckResult>;
  hint: string;
  solution: Action[];
  /** How long --solve waits for the check after the solution (default 120 s). */
  solveTimeoutMs?: number;
}

/** A tutorial: metadata and steps. */
export interface Tutorial {
  name: string;
  title: string;
  /** The system it reproduces ("peachbox"). */
  after: string;
  summary: string;
  minutes: number;
  /** The tutorial's files written into its project at set-up (paths in the tutorial's directory). */
  projectFiles: string[];
  steps: Step[];
}
