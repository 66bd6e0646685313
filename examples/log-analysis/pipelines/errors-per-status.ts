// The failed requests of each day by status code: the other branch of the split, reading the same access-errors
// lines (`dd/Mon/yyyy:HH:MM:SS status path`) in a consumer group of its own. Keyed by status, so each partition's
// window holds every request of its statuses, and awk | sort | uniq -c counts them.
import { pipeline, tumbling } from 'pbx';
import { apacheTime } from './errors-per-day';

export default pipeline('errors-per-status')
  .from<string>('access-errors', { format: 'text', time: apacheTime })
  .keyBy((line) => line.split(' ')[1])
  .window(tumbling('1d'))
  .shell(
    `awk '{ print substr($1, 1, 11), $2 }' | sort | uniq -c | awk '{ printf "{\\"day\\":\\"%s\\",\\"status\\":%s,\\"errors\\":%d}\\n", $2, $3, $1 }'`,
  )
  .to('errors-per-status');
