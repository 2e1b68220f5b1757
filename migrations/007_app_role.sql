-- 007: a database role for the application that may add audit entries but never change or remove them (issue 12).
--
-- Migrations run as the owner of the tables (`smime-admin migrate` with the owner's DATABASE_URL); the server runs as
-- smime_app, or as a login role that is a member of it. smime_app may read and write the application's tables, but on
-- audit_log only SELECT and INSERT: no UPDATE, DELETE, TRUNCATE, TRIGGER or REFERENCES, and not being the owner it
-- cannot ALTER TABLE ... DISABLE TRIGGER either. So the server's credentials, if stolen, cannot rewrite the audit
-- log; the owner still can, and the signed checkpoints outside the database catch that (backend/src/audit/).
--
-- smime_app is NOLOGIN: no password lives in a migration. Give it one (ALTER ROLE smime_app LOGIN PASSWORD ...) or
-- make a login role IN ROLE smime_app; the README shows both. A role belongs to the whole cluster, so this is
-- idempotent and safe when several databases of one cluster migrate at once.
--
-- The grants live in a function so they can be applied again: by a later migration (CREATE OR REPLACE it if a table
-- needs other rights), or by hand when the role could not be created here (below).
CREATE FUNCTION smime_grant_app_role() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  app_schema text := current_schema();
BEGIN
  -- The embedded PostgreSQL (PGlite) has a single user and a single connection: nobody to separate from the owner.
  IF version() LIKE '%PGlite%' OR version() LIKE '%emscripten%' THEN
    RAISE NOTICE 'smime_app: not created on the embedded PostgreSQL (PGlite), which has one user';
    RETURN 'skipped: embedded database';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smime_app') THEN
    BEGIN
      CREATE ROLE smime_app NOLOGIN;
    EXCEPTION
      -- Created a moment ago by the migration of another database of this cluster: 23505 when both inserted at once.
      WHEN duplicate_object OR unique_violation THEN NULL;
      -- A migration role without CREATEROLE (some managed PostgreSQL offerings): say so, and carry on without it.
      WHEN insufficient_privilege THEN
        RAISE WARNING 'smime_app: role % may not create roles, so the server will run with the owner''s rights on audit_log', current_user
          USING HINT = 'As a role with CREATEROLE: CREATE ROLE smime_app NOLOGIN; then as the owner: SELECT smime_grant_app_role();';
        RETURN 'skipped: cannot create roles';
    END;
  END IF;
  BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO smime_app', current_database());
  EXCEPTION
    -- Only the database's owner may grant CONNECT; PUBLIC has it by default anyway.
    WHEN insufficient_privilege THEN NULL;
  END;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO smime_app', app_schema);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO smime_app', app_schema);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO smime_app', app_schema);
  -- Tables of later migrations (created by this same owner) get the same ordinary rights.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO smime_app', app_schema);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO smime_app', app_schema);
  -- The audit log: read and append, nothing else.
  REVOKE ALL ON audit_log FROM smime_app;
  GRANT SELECT, INSERT ON audit_log TO smime_app;
  -- The server reads which migrations ran; it never records one.
  REVOKE ALL ON schema_migrations FROM smime_app;
  GRANT SELECT ON schema_migrations TO smime_app;
  RETURN 'granted';
END;
$$;
REVOKE ALL ON FUNCTION smime_grant_app_role() FROM PUBLIC;

SELECT smime_grant_app_role();
