// Splits every sentence into its words with a shell command: each batch of sentences goes through a fresh
// `tr ' ' '\n'`, one sentence a line in, and every line it prints (a word) becomes a record of the topic words.
// Run it with `pbx run split --until-end`.
import { pipeline } from 'pbx';

/** A line of sentences.json. */
interface Sentence {
  id: number;
  /** Lower-case words separated by single spaces. */
  text: string;
}

// TODO: .map each sentence to its text (a string goes to the command as it is; an object would go as JSON),
// .shell("tr ' ' '\\n'") to put each word on a line of its own, and .to('words').
export default pipeline('split').from<Sentence>('sentences');
