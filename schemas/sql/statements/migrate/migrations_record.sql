-- migrations_record: record a migration applied, in the transaction that
-- ran it; returns when.
--   $1 integer  version
--   $2 text     name (the file name without the number and .sql)
--   $3 text     checksum (migrations_checksums.sql's first)
INSERT INTO outcomes.schema_migrations (version, name, checksum)
VALUES ($1, $2, $3)
RETURNING applied_at;
