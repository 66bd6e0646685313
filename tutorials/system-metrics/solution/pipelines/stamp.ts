// Stamps each line of vmstat with the time the pipeline received it, next to the time it was sent (its Kafka create
// time), and keeps a few of its figures: a row of metrics.vmstat per line. Run it with `pbx run stamp`.
import { hostname } from 'node:os';
import { cassandra, pipeline } from 'pbx';

export default pipeline('stamp')
  .from<string>('vmstat', { format: 'text' })
  // vmstat's two header lines hold words; its figures lines, numbers only.
  .filter((line) => /^[\s\d]+$/.test(line))
  .map((line, record) => {
    const received = Date.now();
    // r b swpd free buff cache si so bi bo in cs us sy id wa st: the ones kept, by position.
    const [r, , , free, , , , , , , , , us, sy, id] = line.trim().split(/\s+/).map(Number);
    return {
      host: hostname(),
      sent: record.timestamp,
      received,
      runnable: r,
      free_kib: free,
      cpu_user: us,
      cpu_system: sy,
      cpu_idle: id,
    };
  })
  .to(cassandra('metrics.vmstat'));
