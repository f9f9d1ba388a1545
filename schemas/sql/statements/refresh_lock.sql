-- refresh_lock: one refresh at a time per database, whatever runs it
-- (every outcomes-rollupd instance, outcomes-replay rebuild): a refresh
-- writes rollup rows from what it reads, and two running at once could
-- commit an older reading last. Returns false at once when another holds
-- it; held until the transaction ends. The key is ("ocrf", 1).
SELECT pg_try_advisory_xact_lock(1868788326, 1);
