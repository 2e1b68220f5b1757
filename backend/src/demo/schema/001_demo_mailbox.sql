-- The demo webmail's mailbox (issue 5), in the demo's own schema since issue 12: applied only by the demo's entry
-- module (backend/src/demo/entry.ts) and tracked in demo_schema_migrations, never by the product's migrations/. The
-- bytes of each message are a file in SMIME_DATA_DIR/demo/mail named by its id (demo/mail-files.ts): written into the
-- embedded database, a 28 MB message blocked the whole server for seconds and grew the database by twice its size.
CREATE TABLE demo_users (
  email        text PRIMARY KEY CHECK (email = lower(email)),
  display_name text NOT NULL,
  position     integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE demo_messages (
  id         uuid PRIMARY KEY,
  -- Delivery order (now() is the same for every row of one transaction): the oldest make room in a full mailbox.
  seq        bigserial NOT NULL,
  owner      text NOT NULL REFERENCES demo_users (email) ON DELETE CASCADE,
  folder     text NOT NULL CHECK (folder IN ('inbox', 'sent')),
  sender     text NOT NULL,
  recipients text[] NOT NULL,
  subject    text NOT NULL,
  -- Bytes of the message file, counted against SMIME_DEMO_MAILBOX_MAX_BYTES of its owner.
  size       bigint NOT NULL CHECK (size >= 0),
  -- Set when the demo's "tamper" button flipped a byte, so the mailbox can say why the signature now fails.
  tampered   boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX demo_messages_owner ON demo_messages (owner, folder, seq DESC);
