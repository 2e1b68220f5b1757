-- 008: the content cipher sent to a correspondent follows the SMIMECapabilities of their newest signed message by
-- signing time (issue 14), not of whichever message was opened last: reading an old message again must not
-- downgrade (or upgrade) what is sent to them. NULL: announced by a message without a signing time, or stored before
-- this migration; any message with a signing time replaces it.
ALTER TABLE exchanged_certificates ADD COLUMN capabilities_signed_at timestamptz;
