-- 003: certificates synced from the organisation's directory (LDAP / Active Directory), shared by all users (issue 4).
-- Only entries that carry at least one certificate are kept. A sync rewrites these tables inside one transaction,
-- so readers always see the last complete copy.

CREATE TABLE directory_entries (
  id            bigserial PRIMARY KEY,
  -- entryUUID (OpenLDAP) or objectGUID (AD), else 'dn:' and the lowercased DN: a renamed entry keeps its row.
  entry_key     text NOT NULL UNIQUE,
  dn            text NOT NULL,
  -- Lowercase, primary first: mail, the SMTP: proxy address, then the smtp: aliases.
  addresses     text[] NOT NULL,
  -- uSNChanged or modifyTimestamp of the entry as last read.
  change_marker text,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  synced_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX directory_entries_addresses ON directory_entries USING gin (addresses);

CREATE TABLE directory_certificates (
  id                 uuid PRIMARY KEY,
  entry_id           bigint NOT NULL REFERENCES directory_entries (id) ON DELETE CASCADE,
  -- The attribute it was read from (userCertificate, userSMIMECertificate).
  attribute          text NOT NULL,
  certificate        bytea NOT NULL,
  fingerprint_sha256 text NOT NULL,
  subject            text NOT NULL,
  issuer             text NOT NULL,
  serial_number      text NOT NULL,
  not_before         timestamptz NOT NULL,
  not_after          timestamptz NOT NULL,
  -- The addresses the certificate names, and those of them that are the entry's.
  emails             text[] NOT NULL,
  addresses          text[] NOT NULL,
  key_usage          text[] NOT NULL,
  extended_key_usage text[] NOT NULL,
  key_algorithm      text NOT NULL,
  key_size           integer NOT NULL,
  -- Usable for encryption as of the sync, else why not (validity is checked again at every use).
  usable             boolean NOT NULL,
  reason             text,
  first_seen_at      timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  CHECK (usable = (reason IS NULL)),
  UNIQUE (entry_id, fingerprint_sha256)
);
CREATE INDEX directory_certificates_entry ON directory_certificates (entry_id);

-- One row: the last attempt, the last success and the incremental-sync watermark.
CREATE TABLE directory_sync_status (
  id                   smallint PRIMARY KEY CHECK (id = 1),
  last_attempt_at      timestamptz,
  last_attempt_mode    text,
  last_success_at      timestamptz,
  last_full_success_at timestamptz,
  last_summary         jsonb,
  last_error_at        timestamptz,
  last_error_code      text,
  last_error_message   text,
  -- 'usn' (AD: next incremental reads uSNChanged > watermark) or 'timestamp' (modifyTimestamp >= watermark).
  watermark_kind       text CHECK (watermark_kind IN ('usn', 'timestamp')),
  watermark            text,
  -- AD: uSNs are per domain controller; a different dsServiceName forces a full sync.
  server_id            text,
  -- Entries seen by the last full sync: the progress bar's estimate.
  full_entry_count     integer
);
