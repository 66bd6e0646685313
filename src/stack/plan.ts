import type { ServiceName } from '../config/schema';
import type { ProjectContainer } from './containers';

/** What `up` does with one container of a service. */
export type ServiceAction = 'create' | 'recreate' | 'restart' | 'keep';

/**
 * Decides per node (a service's container, see nodeName) from what exists (pure): an identical running (or
 * restarting) container is kept, an identical stopped or crashed one is started again, a changed one is recreated, a
 * missing one created.
 */
export function planActions(
  wanted: Array<{ node: string; hash: string }>,
  existing: ProjectContainer[],
): Map<string, { action: ServiceAction; container?: ProjectContainer }> {
  const plan = new Map<string, { action: ServiceAction; container?: ProjectContainer }>();
  for (const { node, hash } of wanted) {
    const container = existing.find((c) => c.node === node);
    if (!container) plan.set(node, { action: 'create' });
    else if (container.configHash !== hash) plan.set(node, { action: 'recreate', container });
    // One the engine is starting again (its restart policy) is kept too: a start of pbx's would race the engine's.
    else if (container.state === 'running' || container.state === 'restarting')
      plan.set(node, { action: 'keep', container });
    else plan.set(node, { action: 'restart', container });
  }
  return plan;
}

/**
 * The containers of the services being started that no node is wanted for any more (pure): brokers beyond a lowered
 * services.kafka.brokers, or the single broker's `kafka` once there are several. They would hold ports the new ones
 * publish; `up` removes them (their volumes stay, as `pbx down` leaves them).
 */
export function unwantedContainers(
  wanted: Array<{ service: ServiceName; node: string }>,
  existing: ProjectContainer[],
): ProjectContainer[] {
  return existing.filter((c) => wanted.some((w) => w.service === c.service) && !wanted.some((w) => w.node === c.node));
}

export interface CqlStatement {
  text: string;
  /** Where it starts in its file, for errors. */
  line: number;
}

/** Splits a CQL file into statements: `;` ends one, except inside strings and comments. */
export function splitCql(text: string): CqlStatement[] {
  const statements: CqlStatement[] = [];
  let current = '';
  let start = 0;
  const end = () => {
    const trimmed = current.trim();
    if (trimmed) statements.push({ text: trimmed, line: text.slice(0, start).split('\n').length });
    current = '';
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const skip =
      /^--[^\n]*/.exec(rest)?.[0] ?? /^\/\/[^\n]*/.exec(rest)?.[0] ?? /^\/\*[\s\S]*?(\*\/|$)/.exec(rest)?.[0];
    if (skip) {
      i += skip.length;
      continue;
    }
    const piece =
      /^'(?:[^']|'')*'?/.exec(rest)?.[0] ??
      /^\$\$[\s\S]*?(\$\$|$)/.exec(rest)?.[0] ??
      /^"(?:[^"]|"")*"?/.exec(rest)?.[0] ??
      text[i]!;
    if (piece === ';') {
      end();
    } else {
      if (!current.trim() && piece.trim()) start = i;
      current += piece;
    }
    i += piece.length;
  }
  end();
  return statements;
}
