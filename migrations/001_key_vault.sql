-- 001: users, their wrapped private keys, unlock sessions, the passphrase throttle and the audit log (issue 2).

CREATE TABLE users (
  id         bigserial PRIMARY KEY,
  email      text NOT NULL UNIQUE CHECK (email = lower(email)),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Further addresses of a user; a certificate may name any of them.
CREATE TABLE user_aliases (
  email   text PRIMARY KEY CHECK (email = lower(email)),
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

-- A private key with its certificate. The PKCS#8 key is stored only wrapped: AES-256-GCM under a key derived with
-- Argon2id from the user's passphrase (salt and cost beside it), with 'user id | key id' as associated data.
CREATE TABLE private_keys (
  id                     uuid PRIMARY KEY,
  user_id                bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  certificate            bytea NOT NULL,
  chain                  bytea[] NOT NULL DEFAULT '{}',
  fingerprint_sha256     text NOT NULL,
  subject                text NOT NULL,
  issuer                 text NOT NULL,
  serial_number          text NOT NULL,
  not_before             timestamptz NOT NULL,
  not_after              timestamptz NOT NULL,
  emails                 text[] NOT NULL,
  key_usage              text[] NOT NULL,
  extended_key_usage     text[] NOT NULL,
  key_algorithm          text NOT NULL,
  key_size               integer NOT NULL,
  wrap_version           smallint NOT NULL,
  kdf_salt               bytea NOT NULL,
  kdf_memory_kib         integer NOT NULL,
  kdf_time_cost          integer NOT NULL,
  kdf_parallelism        integer NOT NULL,
  wrap_iv                bytea NOT NULL,
  wrapped_key            bytea NOT NULL,
  must_change_passphrase boolean NOT NULL DEFAULT false,
  is_default             boolean NOT NULL DEFAULT false,
  source                 text NOT NULL CHECK (source IN ('admin', 'user')),
  created_at             timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, fingerprint_sha256)
);
CREATE UNIQUE INDEX private_keys_one_default ON private_keys (user_id) WHERE is_default;

-- An unlock: the user's keys re-wrapped under a random session key that only the client holds (cookie or header).
-- Any instance behind a load balancer can use it; none can without the client.
CREATE TABLE unlock_sessions (
  id             uuid PRIMARY KEY,
  user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  last_used_at   timestamptz NOT NULL DEFAULT now(),
  idle_timeout_s integer NOT NULL,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX unlock_sessions_user ON unlock_sessions (user_id);

CREATE TABLE unlock_session_keys (
  session_id uuid NOT NULL REFERENCES unlock_sessions (id) ON DELETE CASCADE,
  key_id     uuid NOT NULL REFERENCES private_keys (id) ON DELETE CASCADE,
  iv         bytea NOT NULL,
  wrapped    bytea NOT NULL,
  PRIMARY KEY (session_id, key_id)
);

-- Wrong-passphrase throttle, in the database so that it survives restarts and holds across instances.
CREATE TABLE passphrase_throttle (
  user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  failures        integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz,
  blocked_until   timestamptz
);

-- Append-only, hash-chained audit log: each entry's hash commits to the previous entry's hash.
CREATE TABLE audit_log (
  seq        bigint PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL,
  user_email text,
  action     text NOT NULL,
  details    jsonb NOT NULL,
  prev_hash  text NOT NULL,
  hash       text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
