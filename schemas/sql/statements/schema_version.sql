-- schema_version: the latest migration applied; the daemon refuses a
-- schema older than the statements of this directory need.
SELECT max(version) FROM outcomes.schema_migrations;
