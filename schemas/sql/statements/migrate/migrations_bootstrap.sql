-- migrations_bootstrap: the table of applied migrations, created on a
-- database no migration has run on (not in a dry run). One row per
-- migration file applied: its number, name and statement checksum.
CREATE SCHEMA IF NOT EXISTS outcomes;
CREATE TABLE IF NOT EXISTS outcomes.schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
