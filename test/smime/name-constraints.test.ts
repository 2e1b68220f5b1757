/**
 * Name constraints (lib/name-constraints.ts, enforced by trust.ts; RFC 5280 section 4.2.1.10): a table of constraints,
 * certificate names and the outcome each must give, built as DER by hand so every form and edge is reached; then
 * whole paths from a CA made by the demo's PKI code (a constrained trust anchor) and from the OpenSSL-made fixture
 * (a constrained intermediate), where OpenSSL's own verdict is known.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateCa, issueUser } from '../../backend/src/demo/pki.ts';
import { BerError, readOne } from '../../backend/src/smime/asn1/reader.ts';
import { der, derOid, derSequence } from '../fixtures/pki/signed-data-builder.ts';
import {
  certificateNames,
  nameConstraintViolation,
  parseNameConstraints,
} from '../../backend/src/smime/x509/name-constraints.ts';
import { buildChain } from '../../backend/src/smime/x509/chain.ts';
import { parsedCertificate } from '../../backend/src/smime/x509/certificate.ts';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
/** GeneralName: [1] rfc822Name, [2] dNSName, [6] URI (IMPLICIT IA5String); [4] directoryName (EXPLICIT Name). */
const gn = {
  email: (s: string) => der(0x81, ascii(s)),
  dns: (s: string) => der(0x82, ascii(s)),
  uri: (s: string) => der(0x86, ascii(s)),
  dir: (name: Uint8Array) => der(0xa4, name),
};
const rdn = (oid: string, value: string, tag = 0x0c) => der(0x31, derSequence(derOid(oid), der(tag, ascii(value))));
const O = (v: string) => rdn('2.5.4.10', v);
const CN = (v: string) => rdn('2.5.4.3', v);
const E = (v: string) => rdn('1.2.840.113549.1.9.1', v, 0x16);
const dn = (...rdns: Uint8Array[]) => derSequence(...rdns);
const subtrees = (tag: number, bases: Uint8Array[]) => der(tag, ...bases.map((b) => derSequence(b)));
function constraints(c: { permitted?: Uint8Array[]; excluded?: Uint8Array[] }) {
  const parts = [
    ...(c.permitted ? [subtrees(0xa0, c.permitted)] : []),
    ...(c.excluded ? [subtrees(0xa1, c.excluded)] : []),
  ];
  return parseNameConstraints(readOne(derSequence(...parts), 'test'));
}
const names = (subject: Uint8Array, alt?: Uint8Array[]) =>
  certificateNames(readOne(subject, 'subject'), alt ? readOne(derSequence(...alt), 'san') : undefined);

interface Row {
  label: string;
  nc: { permitted?: Uint8Array[]; excluded?: Uint8Array[] };
  subject: Uint8Array;
  alt?: Uint8Array[];
  /** A fragment of the reason, or null when the names are within the constraints. */
  violation: string | null;
}

const demo = { permitted: [gn.email('demo.example')] };
const rows: Row[] = [
  {
    label: 'host constraint: a mailbox at that host',
    nc: demo,
    subject: dn(CN('A')),
    alt: [gn.email('alice@demo.example')],
    violation: null,
  },
  {
    label: 'host constraint: the host compares case-insensitively',
    nc: demo,
    subject: dn(CN('A')),
    alt: [gn.email('alice@DEMO.Example')],
    violation: null,
  },
  {
    label: 'host constraint: another domain',
    nc: demo,
    subject: dn(CN('M')),
    alt: [gn.email('ceo@other.example')],
    violation: 'ceo@other.example is outside',
  },
  {
    label: 'host constraint: a subdomain is another host',
    nc: demo,
    subject: dn(CN('M')),
    alt: [gn.email('x@mail.demo.example')],
    violation: 'outside',
  },
  {
    label: 'host constraint: a look-alike suffix',
    nc: demo,
    subject: dn(CN('M')),
    alt: [gn.email('x@evildemo.example')],
    violation: 'outside',
  },
  {
    label: 'one good and one bad address: the bad one counts',
    nc: demo,
    subject: dn(CN('M')),
    alt: [gn.email('a@demo.example'), gn.email('a@other.example')],
    violation: 'a@other.example',
  },
  {
    label: 'no subjectAltName: the subject emailAddress is checked',
    nc: demo,
    subject: dn(O('Demo'), CN('M'), E('m@other.example')),
    violation: 'm@other.example',
  },
  {
    label: 'subjectAltName inside, subject emailAddress outside',
    nc: demo,
    subject: dn(CN('M'), E('m@other.example')),
    alt: [gn.email('m@demo.example')],
    violation: 'm@other.example',
  },
  {
    label: 'no address at all: rfc822Name constraints do not apply',
    nc: demo,
    subject: dn(CN('No address')),
    violation: null,
  },
  {
    label: 'domain constraint: a host inside the domain',
    nc: { permitted: [gn.email('.demo.example')] },
    subject: dn(CN('A')),
    alt: [gn.email('a@mail.demo.example')],
    violation: null,
  },
  {
    label: 'domain constraint: not the domain itself',
    nc: { permitted: [gn.email('.demo.example')] },
    subject: dn(CN('A')),
    alt: [gn.email('a@demo.example')],
    violation: 'outside',
  },
  {
    label: 'mailbox constraint: that mailbox',
    nc: { permitted: [gn.email('boss@demo.example')] },
    subject: dn(CN('B')),
    alt: [gn.email('boss@demo.example')],
    violation: null,
  },
  {
    label: 'mailbox constraint: the local part is exact',
    nc: { permitted: [gn.email('boss@demo.example')] },
    subject: dn(CN('B')),
    alt: [gn.email('Boss@demo.example')],
    violation: 'outside',
  },
  {
    label: 'mailbox constraint: another mailbox at the host',
    nc: { permitted: [gn.email('boss@demo.example')] },
    subject: dn(CN('B')),
    alt: [gn.email('intern@demo.example')],
    violation: 'outside',
  },
  {
    label: 'an address without @ matches nothing',
    nc: demo,
    subject: dn(CN('X')),
    alt: [gn.email('demo.example')],
    violation: 'outside',
  },
  {
    label: 'excluded host',
    nc: { excluded: [gn.email('evil.example')] },
    subject: dn(CN('E')),
    alt: [gn.email('x@evil.example')],
    violation: 'excluded',
  },
  {
    label: 'excluded host: others pass',
    nc: { excluded: [gn.email('evil.example')] },
    subject: dn(CN('E')),
    alt: [gn.email('x@good.example')],
    violation: null,
  },
  {
    label: 'permitted and excluded together',
    nc: { permitted: [gn.email('.corp.example')], excluded: [gn.email('lab.corp.example')] },
    subject: dn(CN('L')),
    alt: [gn.email('x@lab.corp.example')],
    violation: 'excluded',
  },
  {
    label: 'dNSName: the name and below it',
    nc: { permitted: [gn.dns('example.com')] },
    subject: dn(CN('D')),
    alt: [gn.dns('www.example.com'), gn.dns('example.com')],
    violation: null,
  },
  {
    label: 'dNSName: whole labels only',
    nc: { permitted: [gn.dns('example.com')] },
    subject: dn(CN('D')),
    alt: [gn.dns('badexample.com')],
    violation: 'badexample.com',
  },
  {
    label: 'dNSName constraint, certificate with addresses only',
    nc: { permitted: [gn.dns('example.com')] },
    subject: dn(CN('D')),
    alt: [gn.email('a@other.example')],
    violation: null,
  },
  {
    label: 'directoryName: the subject starts with the base',
    nc: { permitted: [gn.dir(dn(O('Demo')))] },
    subject: dn(O('Demo'), CN('x')),
    violation: null,
  },
  {
    label: 'directoryName: another organisation',
    nc: { permitted: [gn.dir(dn(O('Demo')))] },
    subject: dn(O('Other'), CN('x')),
    violation: 'directory name',
  },
  {
    label: 'a form not checked here (URI), certificate without one',
    nc: { permitted: [gn.uri('https://demo.example')] },
    subject: dn(CN('U')),
    alt: [gn.email('a@x.example')],
    violation: null,
  },
  {
    label: 'a form not checked here (URI), certificate with one: fails closed',
    nc: { permitted: [gn.uri('https://demo.example')] },
    subject: dn(CN('U')),
    alt: [gn.uri('https://demo.example/x')],
    violation: 'not checked',
  },
];

describe('nameConstraintViolation', () => {
  for (const row of rows) {
    test(row.label, () => {
      const why = nameConstraintViolation(constraints(row.nc), names(row.subject, row.alt));
      if (row.violation === null) assert.equal(why, undefined);
      else assert.ok(why?.includes(row.violation), `expected "${row.violation}" in ${why}`);
    });
  }

  test('a subjectAltName that cannot be read fails closed', () => {
    const n = certificateNames(
      readOne(dn(CN('X')), 'subject'),
      readOne(derSequence(new Uint8Array([0x04, 0x00])), 'san'),
    );
    assert.equal(n.unreadable, true);
    assert.match(nameConstraintViolation(constraints(demo), n) ?? '', /cannot be read/);
  });

  test('minimum or maximum, and an empty extension, are refused as malformed', () => {
    const withMax = derSequence(der(0xa0, derSequence(gn.email('demo.example'), der(0x81, new Uint8Array([1])))));
    assert.throws(() => parseNameConstraints(readOne(withMax, 't')), BerError);
    assert.throws(() => parseNameConstraints(readOne(derSequence(), 't')), BerError);
  });
});

describe('name constraints on whole paths', () => {
  test('a constrained trust anchor (the demo CA): its own domain chains, another does not', async () => {
    const ca = await generateCa('Constrained test CA', { permittedEmail: ['demo.example'] });
    assert.ok(parsedCertificate(ca.certificate)?.nameConstraints, 'the CA states its constraints');
    assert.deepEqual(parsedCertificate(ca.certificate)?.unhandledCritical, [], 'and they are understood');
    const inside = await issueUser(ca, { name: 'Alice', email: 'alice@demo.example' });
    const outside = await issueUser(ca, { name: 'Mallory', email: 'ceo@other.example' });
    assert.deepEqual((await buildChain(inside.certificate, [], [ca.certificate])).problems, []);
    const r = await buildChain(outside.certificate, [], [ca.certificate]);
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.index]),
      [['name-constraints', 0]],
    );
    assert.match(r.problems[0]!.detail, /ceo@other\.example.*Constrained test CA/);
  });

  test('an unconstrained CA is not restricted', async () => {
    const ca = await generateCa('Unconstrained test CA');
    const u = await issueUser(ca, { name: 'Anyone', email: 'anyone@other.example' });
    assert.deepEqual((await buildChain(u.certificate, [], [ca.certificate])).problems, []);
  });
});
