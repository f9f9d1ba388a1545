-- dlq_show_headers: the Kafka headers of one dead letter, in the record's
-- order: name, value (bytea, NULL when the header had none).
--   $1 bigint  id
SELECT h.n, h.v
  FROM outcomes.dead_letters d,
       unnest(d.header_names, d.header_values) WITH ORDINALITY AS h(n, v, i)
 WHERE d.id = $1
 ORDER BY h.i;
