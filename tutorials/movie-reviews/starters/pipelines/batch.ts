// The batch view: how many reviews each movie had in each hour, recomputed from everything in movie_reviews with
// `pbx run batch --until-end --reset`, into movie_reviews.counts_by_hour (product_id, hour, reviews).
import { pipeline } from 'pbx';

/** A line of reviews.json (the fields used here). */
interface Review {
  product_id: string;
  /** Unix seconds */
  time: number;
}

// TODO: read with the review's own time as event time ({ time: (r) => r.time * 1000 }), .keyBy the movie,
// .window(tumbling('1h')), .count(), .map the result ({ key, window_start, count }) to the table's columns, and
// .to(cassandra('movie_reviews.counts_by_hour')).
export default pipeline('batch').from<Review>('movie_reviews');
