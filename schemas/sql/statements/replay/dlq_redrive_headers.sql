-- dlq_redrive_headers: the Kafka headers of a batch of dead letters, sent
-- again with their records: id, name, value (bytea, NULL when the header
-- had none), by id and in each record's order.
--   $1 bigint[]  the batch's ids
SELECT d.id, h.n, h.v
  FROM outcomes.dead_letters d,
       unnest(d.header_names, d.header_values) WITH ORDINALITY AS h(n, v, i)
 WHERE d.id = ANY ($1::bigint[])
 ORDER BY d.id, h.i;
