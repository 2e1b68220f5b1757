-- 009: organisational key recovery (issue 17). With SMIME_RECOVERY_CERTIFICATE configured the server wraps every key
-- it stores (placed, imported, adopted, or at the owner's next unlock) to the recovery certificate as well: CMS
-- EnvelopedData (RSAES-OAEP, AES-256-GCM) of the PKCS#8 key, which only the recovery private key opens. That key is
-- never on the server: it exists as M-of-N Shamir shares in the custodians' files, rebuilt by `smime-admin recover`
-- on an admin machine.
--
-- recovery_certificates: every recovery certificate the server has wrapped to, by set id (hex SHA-256 of its DER,
-- the id the share files carry), so that `smime-admin recover` can check the rebuilt key against it and a change of
-- recovery certificate leaves the copies made for the old one usable with the old shares.
CREATE TABLE recovery_certificates (
  set_id        text PRIMARY KEY CHECK (set_id ~ '^[0-9a-f]{64}$'),
  certificate   bytea NOT NULL,
  subject       text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);

-- One wrapped copy of a private key per recovery certificate. The copy goes with its key when the user deletes it.
CREATE TABLE key_recovery_wraps (
  key_id     uuid NOT NULL REFERENCES private_keys (id) ON DELETE CASCADE,
  set_id     text NOT NULL REFERENCES recovery_certificates (set_id),
  envelope   bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key_id, set_id)
);
CREATE INDEX key_recovery_wraps_set ON key_recovery_wraps (set_id);

-- The application role may add recovery copies and read them, but not change or remove them (the grants below).
CREATE OR REPLACE FUNCTION smime_grant_app_role() RETURNS text LANGUAGE plpgsql AS $$
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
  -- Recovery copies (009): add and read, never change or remove; a server's stolen credentials cannot take an
  -- organisation's ability to recover away, nor swap a copy for one wrapped to another certificate.
  REVOKE ALL ON recovery_certificates, key_recovery_wraps FROM smime_app;
  GRANT SELECT, INSERT ON recovery_certificates, key_recovery_wraps TO smime_app;
  RETURN 'granted';
END;
$$;
SELECT smime_grant_app_role();
