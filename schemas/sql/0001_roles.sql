-- 0001_roles: the three group roles of the outcomes schema.
--
--   outcomes_owner    owns every object; migrations run as this role
--   outcomes_writer   the consumer daemon and the ops tools: facts, rollups,
--                     offsets and dead letters, nothing else
--   outcomes_analyst  read-only access to the analyst views
--
-- They are NOLOGIN group roles: grant them to login roles, e.g.
--   CREATE ROLE rollupd LOGIN; GRANT outcomes_writer TO rollupd;
-- Creating them needs CREATEROLE (or a superuser) once; later migrations
-- need only membership in outcomes_owner.

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outcomes_owner') THEN
    CREATE ROLE outcomes_owner NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outcomes_writer') THEN
    CREATE ROLE outcomes_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'outcomes_analyst') THEN
    CREATE ROLE outcomes_analyst NOLOGIN;
  END IF;
  -- The migrating user must be able to SET ROLE outcomes_owner.
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
     AND NOT pg_catalog.pg_has_role(current_user, 'outcomes_owner', 'MEMBER') THEN
    EXECUTE format('GRANT outcomes_owner TO %I', current_user);
  END IF;
END
$$;

ALTER SCHEMA outcomes OWNER TO outcomes_owner;
REVOKE ALL ON SCHEMA outcomes FROM PUBLIC;
GRANT USAGE ON SCHEMA outcomes TO outcomes_writer, outcomes_analyst;

-- The daemon checks at start that the schema is at the version it expects.
ALTER TABLE outcomes.schema_migrations OWNER TO outcomes_owner;
GRANT SELECT ON outcomes.schema_migrations TO outcomes_writer;
