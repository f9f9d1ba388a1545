-- role_usable: whether the owner role exists, whether the connected user
-- may assume it (a member, directly or not), and who that user is.
-- Migrations after 0001 and the catalog sync run as that role when both
-- hold (role_set_local.sql), else as the session's user.
--   $1 text  the role: outcomes_owner, unless oc_migrate_opts_t names another
SELECT r.oid IS NOT NULL,
       COALESCE(pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER'), false),
       current_user
  FROM (SELECT 1) AS d
  LEFT JOIN pg_catalog.pg_roles AS r ON r.rolname = $1;
