-- migrations_checksums: both checksums of a migration file. The first is
-- recorded in outcomes.schema_migrations; the second is how releases
-- before it recorded the file, still accepted and then rewritten
-- (migrations_checksum_upgrade.sql).
--   $1 text  the file's statements: comments left out, each run of
--            whitespace one space (oc_migrate_statement_text)
--   $2 text  the file's whole text
SELECT pg_catalog.md5($1), pg_catalog.md5($2);
