// The batch view: how many reviews each movie had in each hour, recomputed from everything in movie_reviews with
// `pbx run batch --until-end --reset`, into movie_reviews.counts_by_hour (product_id, hour, reviews).
import { cassandra, pipeline, tumbling } from 'pbx';

/** A line of reviews.json (the fields used here). */
interface Review {
  product_id: string;
  /** Unix seconds */
  time: number;
}

export default pipeline('batch')
  .from<Review>('movie_reviews', { time: (review) => review.time * 1000 })
  .keyBy((review) => review.product_id)
  .window(tumbling('1h'))
  .count()
  .map((result) => ({ product_id: result.key, hour: result.window_start, reviews: result.count }))
  .to(cassandra('movie_reviews.counts_by_hour'));
