// The real-time view: every review, as it arrives, becomes a row of movie_reviews.reviews_by_product (schema.cql).
// A value's fields are written to the columns of the same name. Run it with `pbx run realtime` and leave it running.
import { cassandra, pipeline } from 'pbx';

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

export default pipeline('realtime')
  .from<Review>('movie_reviews')
  .map((review) => ({
    product_id: review.product_id,
    time: review.time * 1000,
    user_id: review.user_id,
    score: Number(review.score),
    summary: review.summary,
  }))
  .to(cassandra('movie_reviews.reviews_by_product'));
