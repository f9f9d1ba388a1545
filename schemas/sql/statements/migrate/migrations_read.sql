-- migrations_read: the migrations applied, as outcomes-migrate compares
-- them with the files of the directory.
SELECT version, name, checksum, applied_at
  FROM outcomes.schema_migrations
 ORDER BY version;
