-- 002: correspondents' public certificates harvested from verified signed mail, per reading user (issue 3).
-- One certificate per (user, address): a newer valid certificate replaces an older one, never the reverse.
CREATE TABLE exchanged_certificates (
  id                 uuid PRIMARY KEY,
  user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email              text NOT NULL CHECK (email = lower(email)),
  certificate        bytea NOT NULL,
  chain              bytea[] NOT NULL DEFAULT '{}',
  fingerprint_sha256 text NOT NULL,
  subject            text NOT NULL,
  issuer             text NOT NULL,
  serial_number      text NOT NULL,
  not_before         timestamptz NOT NULL,
  not_after          timestamptz NOT NULL,
  key_usage          text[] NOT NULL,
  extended_key_usage text[] NOT NULL,
  key_algorithm      text NOT NULL,
  key_size           integer NOT NULL,
  -- Content ciphers the signer announced in SMIMECapabilities (RFC 8551 section 2.5.2), preference order.
  capabilities       text[] NOT NULL DEFAULT '{}',
  source             text NOT NULL CHECK (source IN ('harvested', 'imported')),
  first_seen_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, email)
);
CREATE INDEX exchanged_certificates_user ON exchanged_certificates (user_id, email);
