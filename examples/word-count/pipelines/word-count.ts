// Word count with shell commands as operators: tr splits each batch of sentences into words, keyBy sends every
// word to its partition, and each partition's words of a window go through sort | uniq -c. The counts go to a
// topic and to a Cassandra table, committed with the offsets they came from (a rerun after a crash writes the same).
import { cassandra, pipeline, tumbling } from 'pbx';

export default pipeline('word-count')
  // A corpus has no time of its own: every sentence is at time 0, so one window holds the whole corpus and
  // `pbx run word-count --until-end` closes it once every sentence is read.
  .from<{ id: number; text: string }>('sentences', { time: () => 0 })
  .map((sentence) => sentence.text)
  .shell("tr ' ' '\\n'")
  .keyBy((word) => word)
  .window(tumbling('1d'))
  // Each line out is a JSON object: the word and its count, the columns of word_count.counts.
  .shell(`sort | uniq -c | awk '{ printf "{\\"word\\":\\"%s\\",\\"count\\":%d}\\n", $2, $1 }'`)
  .to('word-counts', cassandra('word_count.counts'));
