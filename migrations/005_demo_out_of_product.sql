-- 005 (issue 12): the demo's tables leave the product schema. 004 created them in every database, production's
-- included. The demo now keeps a schema of its own (backend/src/demo/schema/), applied only by the demo's entry module
-- (backend/src/demo/entry.ts), which never runs with NODE_ENV=production. A demo data folder loses its demo mailbox
-- here (demo mail only: users and keys live in the product's tables and stay); the demo re-creates its tables at its
-- next start.
DROP TABLE IF EXISTS demo_messages;
DROP TABLE IF EXISTS demo_users;
