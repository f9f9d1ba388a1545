-- catalog_lock: outcomes-migrate's catalog sync holds the catalog against
-- other writers until it commits; readers (the daemons, foreign keys of
-- facts) are not blocked.
LOCK TABLE outcomes.metric_catalog IN SHARE ROW EXCLUSIVE MODE;
