/**
 * Every string the components show, in one module, ready for translation: a host replaces entries with
 * `setMessages({...})` before mounting. Parametrised strings are functions. Status texts follow the backend's fixed
 * vocabulary (README "Signature statuses"): for each, what it means, why it happens, and what to do.
 */
import type { LayerStatus } from './api/types.ts';

/** The facts of one audit entry that its sentence may name, read from its details (frontend/src/settings/activity.ts). */
export interface ActivityDetails {
  /** The fingerprint prefix, ready to append (fingerprintPrefix), or ''. */
  fp: string;
  subject: string;
  email: string;
  alias: string;
  certificate: string;
  custodians: string[];
  /** How many keys the entry is about. */
  count: number;
  failures: number;
  all: boolean;
}

export type Tone = 'ok' | 'info' | 'warn' | 'bad';

export interface StatusText {
  /** Short line in the banner. */
  title: string;
  /** What caused it. */
  cause: string;
  /** What the reader should do. */
  action: string;
  tone: Tone;
}

const en = {
  // compose
  composeLabel: 'S/MIME protection',
  sign: 'Sign',
  encrypt: 'Encrypt',
  signHelp: 'Proves to recipients that the message comes from you and was not changed.',
  encryptHelp: 'Only the recipients (and you) can read the message.',
  protectHeaders: 'Protect subject',
  protectHeadersHelp:
    'Puts the subject, sender, recipients and date inside the signature and encryption (RFC 9788). Encrypted mail then shows “[...]” as its subject to mail servers and to programs that cannot read protected headers.',
  checkingRecipients: 'Checking recipients’ certificates…',
  noRecipients: 'Add recipients to check their certificates.',
  recipientReady: (email: string) => `${email}: certificate available`,
  recipientMissing: (email: string) => `${email}: no usable certificate`,
  encryptBlocked: (emails: string[]) =>
    `Cannot encrypt: no usable certificate for ${emails.join(', ')}. Remove ${emails.length === 1 ? 'this recipient' : 'these recipients'}, ask them for a signed message, or turn Encrypt off.`,
  signNeedsUnlock: 'Signing needs your key: unlock it before sending.',
  resolveFailed: 'Could not check the recipients’ certificates.',
  readyToSend: (sign: boolean, encrypt: boolean) =>
    sign && encrypt
      ? 'Will be signed and encrypted.'
      : sign
        ? 'Will be signed.'
        : encrypt
          ? 'Will be encrypted.'
          : 'Will be sent without S/MIME protection.',

  // unlock
  unlockTitle: 'Unlock your keys',
  unlockIntro: 'Enter your passphrase to use your keys for signing and decrypting.',
  idleTimeout: (minutes: number) =>
    `Your keys lock again after ${minutes} minute${minutes === 1 ? '' : 's'} without use.`,
  passphrase: 'Passphrase',
  unlock: 'Unlock',
  unlocking: 'Unlocking…',
  cancel: 'Cancel',
  lock: 'Lock keys',
  locked: 'Keys locked',
  unlockedUntil: (time: string) => `Keys unlocked (idle lock at ${time})`,
  wrongPassphrase: (failures: number) => `Wrong passphrase (${failures} failed attempt${failures === 1 ? '' : 's'}).`,
  throttled: (seconds: number) =>
    `Too many wrong passphrases. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
  noKeys: 'You have no keys yet: import one in the S/MIME settings.',
  noKeyShort: 'No S/MIME key',
  noKeyHelp:
    'You have no S/MIME key, so there is nothing to unlock. Ask your IT department to place one, or import a .p12 file in the S/MIME settings.',
  composeNoKey:
    'Signing and encrypting need a key of your own, and you have none: ask your IT department to place one, or import a .p12 file in the S/MIME settings. You can still read signed mail.',
  mustChangeTitle: 'Choose your own passphrase',
  mustChangeIntro:
    'Your key was set up by IT with a temporary passphrase. Choose a passphrase only you know before using it; IT cannot recover it for you.',
  newPassphrase: 'New passphrase',
  confirmPassphrase: 'Repeat the new passphrase',
  passphraseMismatch: 'The two passphrases differ.',
  passphraseTooShort: (min: number) => `Use at least ${min} characters.`,
  savePassphrase: 'Save passphrase',
  genericError: (message: string) => `Something went wrong: ${message}`,
  /** After a recovery: IT put some keys back, others are still under the forgotten passphrase (issue 17). */
  keysLeftBehind: (n: number) =>
    `This passphrase opens the keys IT put back, but ${n === 1 ? 'one other key is' : `${n} other keys are`} still under your old passphrase. Ask IT to put ${n === 1 ? 'it' : 'them'} back too, or to remove ${n === 1 ? 'it' : 'them'}.`,

  // message status
  statusLabel: 'S/MIME status',
  notProtected: 'This message is neither signed nor encrypted.',
  headersEncrypted: 'Subject and addresses were encrypted and signed with the message (header protection)',
  headersSigned: 'Subject and addresses were signed with the message (header protection)',
  headerMismatch: (field: string, outer: string | undefined, expected: string | undefined) =>
    `The ${field} shown outside the message (${outer === undefined ? 'none' : `“${outer}”`}) is not what the sender protected (${expected === undefined ? 'none' : `“${expected}”`}): it was changed on the way. Trust the protected one above; when replying, check the recipients.`,
  signedBy: (who: string) => `Signed by ${who}`,
  unknownSigner: 'an unknown signer',
  encryptedLayer: 'Encrypted',
  details: 'Details',
  cause: 'Why',
  whatToDo: 'What to do',
  checks: 'Checks',
  signerCertificate: 'Signer certificate',
  subject: 'Subject',
  issuer: 'Issuer',
  serialNumber: 'Serial number',
  fingerprint: 'SHA-256 fingerprint',
  validFrom: 'Valid from',
  validTo: 'Valid until',
  emails: 'Email addresses',
  signingTime: 'Signing time',
  algorithms: 'Algorithms',
  cipher: 'Content cipher',
  chain: 'Issued by',
  unlockToRead: 'Unlock to read',
  harvestedAdded: (email: string) => `${email}’s certificate was saved: you can now send them encrypted mail.`,
  harvestedReplaced: (email: string) => `${email}’s newer certificate replaced the one saved before.`,
  partsNote: (n: number) =>
    `${n} attached S/MIME part${n === 1 ? '' : 's'} (reported separately, not part of this message’s status).`,
  analysing: 'Checking the signature and decrypting…',
  checkOutcome: { pass: 'passed', fail: 'failed', unknown: 'could not be checked', skipped: 'skipped' } as Record<
    string,
    string
  >,

  // settings
  settingsTitle: 'S/MIME settings',
  ownKeys: 'Your keys',
  noOwnKeys:
    'You have no key yet. You can read signed mail and see whether it is genuine. To sign, and to send or read encrypted mail, ask your IT department to place your key, or import your .p12 file below.',
  validity: 'Validity',
  status: 'Status',
  defaultForSigning: 'Default for signing',
  makeDefault: 'Use for signing',
  isDefault: 'Signing default',
  pendingKey: 'Set up by IT: choose your passphrase',
  delete: 'Delete',
  issuedBy: (org: string) => `issued by ${org}`,
  validUntil: (date: string) => `valid until ${date}`,
  deleteKeyLabel: (name: string, until: string) => `Delete the key of ${name}, valid until ${until}`,
  deleteCertLabel: (who: string) => `Delete the certificate of ${who}`,
  confirmDelete: (subject: string) =>
    `Delete the key “${subject}”? Mail encrypted to it can no longer be read. This cannot be undone.`,
  confirmDeleteButton: 'Delete for good',
  backUp: 'Back up',
  backUpKeyLabel: (name: string, until: string) => `Back up the key of ${name}, valid until ${until}`,
  backUpHelp:
    'Downloads the key and its certificate as a .p12 file, protected by an export password of your choice. Keep the file and the password apart.',
  exportPassword: 'Export password',
  confirmExportPassword: 'Export password again',
  exportPasswordMismatch: 'The two export passwords differ.',
  exportPasswordTooShort: (n: number) => `The export password needs at least ${n} characters.`,
  backUpButton: 'Download backup',
  backedUp: (file: string) => `Saved ${file}.`,
  importKey: 'Import a key (.p12 / .pfx)',
  p12File: 'PKCS#12 file',
  p12Password: 'File password',
  yourPassphrase: 'Your passphrase',
  yourPassphraseHelp: 'Your current passphrase (or, for your first key, the passphrase you choose).',
  import: 'Import',
  imported: (subject: string) => `Imported ${subject}.`,
  chooseFile: 'Choose a file first.',
  changePassphrase: 'Change passphrase',
  currentPassphrase: 'Current passphrase',
  passphraseChanged: 'Passphrase changed.',
  publicKeys: 'Other people’s certificates',
  noPublicKeys: 'No certificates saved yet. They are saved when you read a verified signed message.',
  filter: 'Filter by name or address',
  source: 'Source',
  allSources: 'All sources',
  sources: { harvested: 'From signed mail', imported: 'Imported', directory: 'Directory' } as Record<string, string>,
  email: 'Email',
  defaults: 'Defaults for new messages',
  signByDefault: 'Sign new messages',
  encryptByDefault: 'Encrypt new messages (you can turn it off per message)',
  protectHeadersByDefault:
    'Protect the subject of new messages (encrypted mail shows “[...]” as its subject in programs without header protection)',
  cipherLabel: 'Content cipher',
  cipherAuto: 'Automatic (AES-256, GCM when every recipient supports it)',
  saved: 'Saved.',
  validityState: { valid: 'Valid', expired: 'Expired', 'not-yet-valid': 'Not yet valid' } as Record<string, string>,
  loading: 'Loading…',
  // settings: activity (the user's own audit trail, issue 17)
  activity: 'Activity',
  activityHelp: 'What happened to your keys and passphrase, newest first.',
  activityEmpty: 'Nothing recorded yet.',
  activityFailed: (reason: string) => `Could not load your activity: ${reason}`,
  activityShowMore: (n: number) => `Show ${n} more`,
  activityWhen: 'When',
  activityWho: 'Who',
  activityWhat: 'What',
  actorYou: 'You',
  actorAdmin: 'Your IT department',
  actorSystem: 'The system',
  actorCustodians: 'The recovery custodians',
  /** A fingerprint is shown by its first characters: enough to tell keys apart at a glance. */
  fingerprintPrefix: (fp: string) => (fp ? ` (${fp.slice(0, 16)}…)` : ''),
  auditActions: {
    'key.placed': (d: ActivityDetails) => `IT placed a key for you${d.fp}`,
    'key.replaced': (d: ActivityDetails) =>
      `IT put a recovered key back for you${d.fp}: choose your passphrase to take it over; your devices were locked`,
    'key.imported': (d: ActivityDetails) => `You imported a key${d.subject ? ` (${d.subject})` : ''}${d.fp}`,
    'key.adopted': (d: ActivityDetails) => `You took over a key IT placed for you${d.fp}`,
    'key.deleted': (d: ActivityDetails) => `A key was deleted${d.subject ? ` (${d.subject})` : ''}${d.fp}`,
    'key.exported': (d: ActivityDetails) => `You backed up a key${d.fp}`,
    'key.default_set': () => 'A key was made your signing default',
    'key.rewrapped': () => 'A key’s protection was renewed with stronger settings',
    'key.recovery_wrapped': (d: ActivityDetails) =>
      `A recovery copy of your ${d.count === 1 ? 'key' : 'keys'} is held for your organisation’s key recovery${d.certificate ? ` (certificate ${d.certificate})` : ''}`,
    'key.recovered': (d: ActivityDetails) =>
      `Your keys were recovered by your organisation’s custodians${d.custodians.length ? `: ${d.custodians.join(', ')}` : ''}`,
    'unlock.success': () => 'Keys unlocked',
    'unlock.failure': (d: ActivityDetails) =>
      `Wrong passphrase entered${d.failures ? ` (${d.failures} ${d.failures === 1 ? 'failure' : 'failures'} so far)` : ''}`,
    'unlock.passphrase_change_required': () => 'Unlock asked for a new passphrase first (keys placed by IT)',
    'unlock.throttled': () => 'Too many wrong passphrases: unlocking was paused',
    'session.locked': (d: ActivityDetails) => (d.all ? 'Keys locked on all devices' : 'Keys locked'),
    'passphrase.changed': () => 'Passphrase changed',
    'passphrase.change_failed': (d: ActivityDetails) =>
      `Passphrase change refused: wrong current passphrase${d.failures ? ` (${d.failures} ${d.failures === 1 ? 'failure' : 'failures'} so far)` : ''}`,
    'alias.added': (d: ActivityDetails) => `Address ${d.alias} added to your account`,
    'certificate.harvested': (d: ActivityDetails) => `Certificate of ${d.email} saved from signed mail${d.fp}`,
    'certificate.deleted': (d: ActivityDetails) => `Certificate of ${d.email} deleted${d.fp}`,
  } as Record<string, (d: ActivityDetails) => string>,
  showDetails: 'Details',
  hideDetails: 'Hide details',
};

export type Messages = typeof en;

/** Explanation of every status the backend can return, signature and decryption alike. */
const statusTexts: Record<LayerStatus, StatusText> = {
  valid: {
    title: 'Signature verified',
    cause:
      'The signature is intact, the certificate chains to a trusted authority, was valid when signing and is for the sender’s address.',
    action: 'Nothing: the message comes from the signer and was not changed.',
    tone: 'ok',
  },
  'invalid-signature': {
    title: 'Signature does not match: the message was changed',
    cause:
      'The content no longer matches what the signer signed. It was altered on the way, or by a mail system rewriting it.',
    action: 'Do not trust the content. Ask the sender, by another channel, to send it again.',
    tone: 'bad',
  },
  untrusted: {
    title: 'Signed, but the signer’s certificate is not trusted',
    cause:
      'The certificate does not chain to an authority your organisation trusts (self-signed, a private CA, or the chain is missing).',
    action:
      'Check the fingerprint with the sender by phone. Ask your administrator to trust their CA if it is legitimate.',
    tone: 'warn',
  },
  expired: {
    title: 'Signed with an expired certificate',
    cause:
      'The signer’s certificate had expired when the message was signed (or has expired since, if no time was recorded).',
    action: 'Treat the signature as unproven. Ask the sender to renew their certificate.',
    tone: 'warn',
  },
  'not-yet-valid': {
    title: 'Signed with a certificate that is not valid yet',
    cause:
      'The certificate’s validity starts after the signing time: a wrong clock on the sender’s or your side, or a forged date.',
    action: 'Check your computer’s clock; otherwise ask the sender.',
    tone: 'warn',
  },
  revoked: {
    title: 'The signer’s certificate was revoked',
    cause: 'The issuing authority withdrew the certificate, usually because the key was lost or stolen.',
    action: 'Do not trust the message. Contact the sender by another channel.',
    tone: 'bad',
  },
  'revocation-unknown': {
    title: 'Signature intact; revocation could not be checked',
    cause:
      'The authority’s revocation service (OCSP or CRL) could not be reached or gave no answer, so the certificate may have been withdrawn.',
    action: 'Usually harmless; for an important message, try again later or confirm with the sender.',
    tone: 'warn',
  },
  'email-mismatch': {
    title: 'Signed by someone else than the sender address',
    cause:
      'The certificate is for another address than the message’s From line: a forwarded message, an alias, or an impersonation.',
    action: 'Check who the certificate belongs to (details) before trusting the From line.',
    tone: 'warn',
  },
  'weak-algorithm': {
    title: 'Signed with a weak algorithm',
    cause: 'The signature uses an algorithm considered breakable today (such as SHA-1 or a short RSA key).',
    action: 'Ask the sender to update their mail program or certificate.',
    tone: 'warn',
  },
  unsupported: {
    title: 'Signature uses something this server cannot check',
    cause: 'The signature uses an algorithm or format this server does not support.',
    action: 'The message may be fine; verify it in another client, or ask the sender to use standard settings.',
    tone: 'warn',
  },
  malformed: {
    title: 'Damaged signature',
    cause: 'The signature data cannot be read: the message was damaged, truncated, or built incorrectly.',
    action: 'Do not trust the content. Ask the sender to send it again.',
    tone: 'bad',
  },
  decrypted: {
    title: 'Encrypted: decrypted with your key',
    cause: 'The message was encrypted to you; only its recipients could read it on the way.',
    action: 'Nothing. Encryption says nothing about who sent it: see the signature line.',
    tone: 'ok',
  },
  locked: {
    title: 'Encrypted: unlock your keys to read it',
    cause: 'The message is encrypted to your key, and your keys are locked.',
    action: 'Unlock with your passphrase.',
    tone: 'info',
  },
  'no-key': {
    title: 'Encrypted to a key you do not have',
    cause: 'None of your keys is among the recipients: it was encrypted to an old key you deleted, or not to you.',
    action:
      'If you had an older key, import it in the S/MIME settings; else ask the sender to encrypt to your current certificate.',
    tone: 'bad',
  },
  'not-opened': {
    title: 'Encrypted part, not opened',
    cause:
      'An encrypted part sits inside a message that is not itself encrypted. Opening it here could show someone else’s text as if it were part of a protected message.',
    action: 'If you expected it, ask the sender to encrypt the whole message instead.',
    tone: 'info',
  },
  failed: {
    title: 'Encrypted message could not be decrypted',
    cause: 'The encrypted data is damaged or was altered, or it uses a format this server cannot read.',
    action: 'Ask the sender to send it again.',
    tone: 'bad',
  },
};

let current: Messages = en;
let currentStatus = statusTexts;

/** The active strings. */
export function msg(): Messages {
  return current;
}

/** The explanation of one status (unknown statuses from a newer backend fall back to a neutral warning). */
export function statusText(status: string): StatusText {
  return (
    currentStatus[status as LayerStatus] ?? {
      title: status,
      cause: 'The server reported a status this version does not know.',
      action: 'Update the S/MIME plugin, or check the details.',
      tone: 'warn',
    }
  );
}

/** Replace strings (translation): partial overrides over the English defaults. */
export function setMessages(
  overrides: Partial<Messages>,
  statuses: Partial<Record<LayerStatus, StatusText>> = {},
): void {
  current = { ...en, ...overrides };
  currentStatus = { ...statusTexts, ...statuses };
}
