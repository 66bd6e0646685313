import type { ServiceName } from '../config/schema';
import { SERVICES } from '../services/catalog';
import type { ServiceSpec } from '../services/types';

/**
 * What one container start takes the engine (Docker 20.10 on 2 cores, bench/up's stack: 0.25–0.3 s alone): a service
 * that waits for a dependency's start begins that much after it.
 */
const ENGINE_START_MS = 300;

type Node = Pick<ServiceSpec, 'name' | 'dependsOn'>;

/**
 * How long after its own container starts a service holds the stack up (pure): its own start, or the start of a service
 * that waits for it, one container start later, whichever is longer.
 */
export function holdsStackMs(service: ServiceName, nodes: Node[]): number {
  const dependents = new Set(nodes.filter((n) => n.dependsOn.some((d) => d.service === service)).map((n) => n.name));
  const through = [...dependents].map((dependent) => ENGINE_START_MS + holdsStackMs(dependent, nodes));
  return Math.max(SERVICES[service].typicalStartMs, ...through);
}

/**
 * The service the stack waits for longest, whose containers the engine makes and starts before any other's (pure):
 * container starts beside it took the engine twice as long (0.5–0.75 s against 0.25–0.3 s), all of it before the
 * stack's slowest start could begin. Undefined with no service to start.
 */
export function leadService(nodes: Node[]): ServiceName | undefined {
  const services = [...new Set(nodes.map((n) => n.name))];
  const slowest = (a: ServiceName, b: ServiceName) => (holdsStackMs(b, nodes) > holdsStackMs(a, nodes) ? b : a);
  return services.length > 0 ? services.reduce(slowest) : undefined;
}
