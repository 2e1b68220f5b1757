-- 004: the demo webmail's mailbox (issue 5). Only the demo host (SMIME_DEMO, /demo) reads and writes these tables; a
-- production deployment leaves them empty. Messages are stored exactly as sent (message/rfc822 bytes).
CREATE TABLE demo_users (
  email        text PRIMARY KEY CHECK (email = lower(email)),
  display_name text NOT NULL,
  position     integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE demo_messages (
  id         uuid PRIMARY KEY,
  owner      text NOT NULL REFERENCES demo_users (email) ON DELETE CASCADE,
  folder     text NOT NULL CHECK (folder IN ('inbox', 'sent')),
  sender     text NOT NULL,
  recipients text[] NOT NULL,
  subject    text NOT NULL,
  raw        bytea NOT NULL,
  -- Set when the demo's "tamper" button flipped a byte, so the mailbox can say why the signature now fails.
  tampered   boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX demo_messages_owner ON demo_messages (owner, folder, created_at DESC);
