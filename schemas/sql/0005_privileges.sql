-- 0005_privileges: least privilege, tightened after the security review of
-- issue 7 (tests/integration/test_security_roles.sh proves every line).
--
-- 1. Dead letters are the evidence of what could not be applied: the raw
--    key and value bytes and the reason. The writer inserts them (the daemon)
--    and marks them redriven (the ops tools); it must not be able to rewrite
--    the bytes or the reason afterwards. 0002 granted UPDATE on every column;
--    keep it on redriven_at alone. (DELETE was never granted.)
REVOKE UPDATE ON outcomes.dead_letters FROM outcomes_writer;
GRANT UPDATE (redriven_at) ON outcomes.dead_letters TO outcomes_writer;

-- 2. Nothing is granted by accident to objects that later migrations create
--    as outcomes_owner: each migration grants what it means to grant.
--    Tables, views and sequences get no privilege by default (the roles
--    test creates one as outcomes_owner and proves both roles are refused),
--    but PostgreSQL grants EXECUTE on every new function to PUBLIC, and
--    only a global default (not one IN SCHEMA) can take that back. A later
--    migration that adds a function the daemon calls must therefore
--    GRANT EXECUTE ON FUNCTION ... TO outcomes_writer itself.
ALTER DEFAULT PRIVILEGES FOR ROLE outcomes_owner
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- 3. Neither role may create objects in the outcomes schema: 0001 grants
--    USAGE only; revoke CREATE explicitly so that a hand-made
--    GRANT ALL ON SCHEMA outcomes is undone by the next migration run.
REVOKE CREATE ON SCHEMA outcomes FROM PUBLIC, outcomes_writer, outcomes_analyst;
