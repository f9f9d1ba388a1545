-- migrations_lock: concurrent outcomes-migrate runs serialise on this
-- session advisory lock, held from before the migrations are read until
-- after the catalog sync (migrations_unlock.sql). The key is "outcmigr" in
-- ASCII.
SELECT pg_catalog.pg_advisory_lock(8031453480871356274);
