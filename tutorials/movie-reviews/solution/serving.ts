// The serving query: how many reviews each movie has, from the batch view (movie_reviews.counts_by_hour) merged with
// the real-time view (movie_reviews.reviews_by_product) for what is newer than the batch. `pbx tutorial` runs it
// with `query`, which returns every row of a CQL query as plain objects (timestamps as Date).
export type Query = (cql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

export default async function reviewsPerMovie(query: Query): Promise<Record<string, number>> {
  const batch = await query('SELECT product_id, hour, reviews FROM movie_reviews.counts_by_hour');
  // The batch's last hour may hold only part of that hour's reviews: it comes from the real-time view instead.
  const horizon = batch.reduce((latest, row) => Math.max(latest, (row.hour as Date).getTime()), 0);
  const counts: Record<string, number> = {};
  const add = (movie: unknown, n: number) => (counts[String(movie)] = (counts[String(movie)] ?? 0) + n);
  for (const row of batch) if ((row.hour as Date).getTime() < horizon) add(row.product_id, Number(row.reviews));
  const recent = await query(
    'SELECT product_id FROM movie_reviews.reviews_by_product WHERE time >= ? ALLOW FILTERING',
    [new Date(horizon)],
  );
  for (const row of recent) add(row.product_id, 1);
  return counts;
}
