-- catalog_load: the metric catalog the daemon validates records against.
SELECT code, name, unit, kind, direction, min_value, max_value, seed, description
  FROM outcomes.metric_catalog
 ORDER BY code;
