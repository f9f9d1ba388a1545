-- regclass_exists: the oid of a relation, NULL when there is none (the
-- migrations table before the first run, the catalog before migration
-- 0002).
--   $1 text  the relation's qualified name, e.g. outcomes.schema_migrations
SELECT pg_catalog.to_regclass($1)::oid;
