-- role_set_local: SET LOCAL ROLE to a role role_usable.sql found usable,
-- until the transaction ends, so that the objects a migration creates and
-- the catalog rows it writes belong to it.
--   $1 text  the role's name, as it is (not an SQL identifier)
SELECT pg_catalog.set_config('role', $1, true);
