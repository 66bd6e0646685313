// Stamps each line of vmstat with the time the pipeline received it, next to the time it was sent (its Kafka create
// time), and keeps a few of its figures: a row of metrics.vmstat per line. Run it with `pbx run stamp`.
import { pipeline } from 'pbx';

// TODO: .filter out vmstat's two header lines (they hold words; its figures lines, numbers only), .map each line
// (and its record) to a row of metrics.vmstat: { host: hostname() (from 'node:os'), sent: record.timestamp,
// received: Date.now(), runnable, free_kib, cpu_user, cpu_system, cpu_idle } (vmstat's columns r, free, us, sy and
// id), and send it .to(cassandra('metrics.vmstat')).
export default pipeline('stamp').from<string>('vmstat', { format: 'text' });
