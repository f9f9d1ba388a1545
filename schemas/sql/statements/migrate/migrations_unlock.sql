-- migrations_unlock: release migrations_lock.sql's lock at the end of a
-- run, whatever its outcome.
SELECT pg_catalog.pg_advisory_unlock(8031453480871356274);
