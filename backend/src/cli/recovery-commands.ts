/**
 * The key recovery commands of smime-admin (issue 17), in the table of commands.ts: `recovery-init` (offline: the
 * recovery key, its certificate and the custodians' share files) and `recover` (M custodians, against the database).
 */
import type { Command } from './command.ts';
import { cmdRecover } from './recover.ts';
import { recoveryInitCommand } from './recovery-init.ts';
import { cmdRemoveKey } from './remove-key.ts';

const USER = { name: 'user', type: 'string', value: 'EMAIL' } as const;

export const RECOVERY_COMMANDS: Command[] = [
  {
    name: 'recover',
    summary:
      "Rebuild the recovery key from M custodians' share files and write every key of a user as PKCS#12 (issue 17).",
    details:
      'Run by the custodians on an administrator machine against the database (DATABASE_URL), never by the server. ' +
      'Each --share is one custodian share file; its password is asked (no echo) or read from the first line of ' +
      'the matching --share-password-file (one per --share, same order). Fewer shares than the threshold are ' +
      'refused, saying how many more are needed. The rebuilt key must be the private key of the recovery ' +
      'certificate the server recorded. Every key of the user wrapped to it (oldest first) is written: one key to ' +
      '--out, several to FILE-1.p12 .. FILE-k.p12; existing files are never overwritten, files are mode 0600. A ' +
      "'key.recovered' audit entry (the user, keys, custodians) is written before any file. Then place each file " +
      'back with import-p12 --initial-passphrase --replace.',
    options: [
      { ...USER, required: true, description: 'The user whose keys to recover.' },
      {
        name: 'share',
        type: 'string',
        multiple: true,
        value: 'FILE',
        required: true,
        description: 'A custodian share file; give it once per custodian (at least the threshold M).',
      },
      {
        name: 'share-password-file',
        type: 'string',
        multiple: true,
        value: 'FILE',
        description: 'The password of the share file at the same position, as the first line of FILE.',
        default: 'asked for each share file, without echo',
      },
      {
        name: 'out',
        type: 'string',
        value: 'FILE.p12',
        required: true,
        description: 'Where to write the key (FILE-1.p12 .. FILE-k.p12 when the user has several).',
      },
    ],
    env: [
      { name: 'SMIME_P12_PASSWORD', description: 'The password of the written .p12 files; unset: asked twice.' },
      { name: 'DATABASE_URL', description: 'The database holding the recovery copies.' },
    ],
    examples: [
      'smime-admin recover --user alice@example.com --share a.json --share b.json --share c.json --out alice.p12',
    ],
    run: cmdRecover,
  },
  {
    name: 'recovery-init',
    summary:
      'Create the organisational recovery key and split it into M-of-N custodian share files (offline, no database).',
    details:
      'Writes to --out (created 0700; refused when not empty): recovery-certificate.pem (0644, the only thing the ' +
      "server gets), one share-I-of-N-LABEL.json per custodian (0600, encrypted under that custodian's password with " +
      'Argon2id, 256 MiB, 3 passes) and RECOVERY-SET.txt (which file goes to whom, fingerprint, next steps). Each ' +
      'custodian types their own password twice on a terminal; on piped input, one line per custodian. The private key ' +
      'is never written whole. Loads no server settings and creates nothing the server uses.',
    options: [
      { name: 'shares', type: 'string', value: 'N', required: true, description: 'How many custodians (2 to 255).' },
      {
        name: 'threshold',
        type: 'string',
        value: 'M',
        required: true,
        description: 'How many shares rebuild the key (2 to N).',
      },
      { name: 'out', type: 'string', value: 'DIR', required: true, description: 'New or empty directory to write to.' },
      {
        name: 'custodian',
        type: 'string',
        multiple: true,
        value: 'LABEL',
        description: 'Who holds each share, in order: given N times or not at all.',
        default: '"custodian 1" .. "custodian N"',
      },
      {
        name: 'share-password-file',
        type: 'string',
        multiple: true,
        value: 'FILE',
        description: "A file whose first line is a custodian's password, in share order: given N times or not at all.",
        default: 'asked on the terminal',
      },
      {
        name: 'name',
        type: 'string',
        value: 'CN',
        description: "The certificate's common name.",
        default: '"S/MIME key recovery"',
      },
      { name: 'organisation', type: 'string', value: 'O', description: "The certificate's organisation." },
    ],
    env: [
      {
        name: 'SMIME_PASSPHRASE_MIN_LENGTH',
        description: "Shortest custodian password accepted (the vault's passphrase minimum). Default: 10.",
      },
    ],
    examples: [
      'smime-admin recovery-init --shares 5 --threshold 3 --out ./recovery-2026 --custodian alice --custodian bob --custodian carol --custodian dave --custodian erin',
    ],
    run: () => Promise.reject(new Error('recovery-init runs without loaded settings')),
    runRaw: (env, values) => recoveryInitCommand(env, values),
  },
  {
    name: 'remove-key',
    summary: "Remove a key from a user's profile, confirmed by its fingerprint (after a recovery, or when it must go).",
    details:
      'Mail encrypted to the key can no longer be read through this server; its recovery copies go with it. ' +
      'Meant for the end of a recovery: a key without a recovery copy stays under the passphrase the user forgot, ' +
      'and while it is there the user cannot take over the keys put back with import-p12 --replace. The user sees ' +
      "the removal in their activity ('key.deleted' by IT). list-keys shows the ids; the fingerprint is the " +
      "certificate's SHA-256 (hex, colons allowed).",
    options: [
      { ...USER, required: true, description: 'The user whose key to remove.' },
      { name: 'key', type: 'string', value: 'ID', required: true, description: 'The key id (list-keys).' },
      {
        name: 'confirm',
        type: 'string',
        value: 'FINGERPRINT',
        description: "The key's full SHA-256 fingerprint: without it nothing is removed.",
        default: 'none: refused',
      },
    ],
    examples: ['smime-admin remove-key --user alice@example.com --key 0b9e... --confirm 5f3a...'],
    run: cmdRemoveKey,
  },
];
