-- migrations_checksum_upgrade: rewrite a migration's row that holds an
-- earlier release's checksum to the statement checksum; returns the number
-- of rows updated (1, else the row vanished).
--   $1 integer  version
--   $2 text     checksum (migrations_checksums.sql's first)
WITH u AS (UPDATE outcomes.schema_migrations SET checksum = $2 WHERE version = $1 RETURNING 1)
SELECT count(*) FROM u;
