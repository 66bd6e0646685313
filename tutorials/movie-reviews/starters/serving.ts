// The serving query: how many reviews each movie has, from the batch view (movie_reviews.counts_by_hour) merged with
// the real-time view (movie_reviews.reviews_by_product) for what is newer than the batch. `pbx tutorial` runs it
// with `query`, which returns every row of a CQL query as plain objects (timestamps as Date).
export type Query = (cql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

export default function reviewsPerMovie(query: Query): Promise<Record<string, number>> {
  // TODO: read the batch counts; the batch's last hour may hold only part of that hour's reviews (the batch ran
  // while reviews arrived), so take the batch's hours before its last one, and count the real-time rows from the
  // start of that last hour on.
  void query;
  return Promise.resolve({});
}
