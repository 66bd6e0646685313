import type { ServiceName } from '../config/schema';
import type { Dependency, DependencyCondition } from '../services/types';

/** How a service's start went, as its dependents see it. */
export interface ServiceStart {
  /** Its container runs: started by this run, or kept running. False when it failed before that, or is external. */
  running: boolean;
  /** It started on volumes this run made, which hold no data of an earlier run. */
  freshData: boolean;
}

/** What one service's dependents wait on: its start, and whether it was proven ready. */
export interface DependencySignals {
  start: { promise: Promise<ServiceStart> };
  ready: { promise: Promise<boolean> };
}

/** The condition a dependency's start must meet, given how it started (pure). */
export function conditionFor(dependency: Dependency, start: ServiceStart): DependencyCondition {
  return start.freshData && dependency.onFreshData ? dependency.onFreshData : dependency.condition;
}

/**
 * Waits until every dependency meets its condition, or one cannot; `onReadyWait` is called before a wait for one's
 * readiness. `blockedBy` is the first that cannot (it is not
 * ready); `startedOnly` are those met by a start alone, whose later failure the dependent must watch for.
 * Dependencies that are not part of the run are not waited for.
 */
export async function awaitDependencies(
  dependsOn: Dependency[],
  signals: ReadonlyMap<ServiceName, DependencySignals>,
  onReadyWait: () => void = () => undefined,
): Promise<{ blockedBy?: ServiceName; startedOnly: ServiceName[] }> {
  const present = dependsOn.filter((dependency) => signals.has(dependency.service));
  const met = await Promise.all(
    present.map(async (dependency) => {
      const { start, ready } = signals.get(dependency.service)!;
      const started = await start.promise;
      if (started.running && conditionFor(dependency, started) === 'started') return 'started';
      onReadyWait();
      return (await ready.promise) ? 'ready' : 'not ready';
    }),
  );
  return {
    blockedBy: present.find((_, i) => met[i] === 'not ready')?.service,
    startedOnly: present.filter((_, i) => met[i] === 'started').map((dependency) => dependency.service),
  };
}
