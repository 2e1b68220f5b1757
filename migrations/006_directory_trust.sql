-- 006: directory trust (issue 12). A directory certificate is used only when it chains to the directory's trust
-- anchors, is valid, not revoked, allows encryption and names the address in its subjectAltName. The sync stores what
-- it found; every use decides again from the certificate itself (validity and revocation change with time).

ALTER TABLE directory_certificates
  -- The subjectAltName rfc822Name addresses, lowercase. NULL for a row synced before this migration: the certificate
  -- is read again instead.
  ADD COLUMN san_emails text[],
  -- The certificates the sync found between this one and its trust anchor (the anchor itself is configuration, not
  -- stored): what the path is rebuilt from, and revocation checked along, at each use.
  ADD COLUMN intermediates bytea[] NOT NULL DEFAULT '{}',
  -- SHA-256 fingerprint of the certificate whose signature on this one the sync verified (the first intermediate, or
  -- the anchor); NULL without a path to an anchor. The next sync reuses that verification for the same bytes.
  ADD COLUMN issuer_fingerprint text;

-- Verdicts stored before this migration never looked at the chain: not usable until a sync decides again...
UPDATE directory_certificates
   SET usable = false, reason = 'not checked against the directory trust anchors yet: the next sync decides';
-- ...and that sync is a full one (without a watermark there is nothing to continue from), so it reads every entry.
UPDATE directory_sync_status SET watermark = NULL, watermark_kind = NULL;
