import { sleep } from '../async';
import type { ResolvedConfig } from '../config/load';
import { endpointOf } from './endpoints';
import { fourLetterWord } from './probes';
import type { StartCheck } from './types';

const POLL_MS = 250;

/**
 * Waits until a service's start check holds, at most its `timeoutMs`; after that the start goes ahead and the
 * service's own readiness probe tells how it went. `note` says once what is waited for.
 */
export async function waitForStartCheck(
  config: ResolvedConfig,
  check: StartCheck,
  signal: AbortSignal,
  note: (detail: string) => void,
): Promise<void> {
  const deadline = Date.now() + check.timeoutMs;
  let noted = false;
  while (Date.now() < deadline && !signal.aborted && !(await holds(config, check))) {
    if (!noted) note(WAITING_FOR[check.kind]);
    noted = true;
    await sleep(POLL_MS, signal);
  }
}

const WAITING_FOR: Record<StartCheck['kind'], string> = {
  'no-stale-broker': "waiting for the previous broker's ZooKeeper session to expire",
};

async function holds(config: ResolvedConfig, check: StartCheck): Promise<boolean> {
  switch (check.kind) {
    case 'no-stale-broker':
      return !(await brokerRegistered(config, check));
  }
}

/**
 * True while ZooKeeper holds the ephemeral registration of a Kafka broker: after one that died without a clean
 * shutdown, until its session expires.
 */
async function brokerRegistered(config: ResolvedConfig, check: StartCheck): Promise<boolean> {
  const dump = await fourLetterWord(endpointOf(config, check.of).addresses[0]!, 'dump');
  return /\/brokers\/ids\/\d+/.test(dump);
}
