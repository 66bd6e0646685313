// The real-time view: every review, as it arrives, becomes a row of movie_reviews.reviews_by_product (schema.cql).
// A value's fields are written to the columns of the same name: product_id, time (a timestamp: ms since 1970),
// user_id, score (a number) and summary. Run it with `pbx run realtime` and leave it running.
import { pipeline } from 'pbx';

/** A line of reviews.json (the fields used here). */
interface Review {
  product_id: string;
  user_id: string;
  /** Unix seconds */
  time: number;
  /** "1.0" to "5.0" */
  score: string;
  summary: string;
}

// TODO: .map each review to the table's columns, then .to(cassandra('movie_reviews.reviews_by_product')).
export default pipeline('realtime').from<Review>('movie_reviews');
