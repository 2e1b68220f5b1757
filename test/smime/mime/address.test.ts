// Address lists (RFC 5322 section 3.4 and the obsolete forms of section 4.4) as data: input, expected entries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatAddress,
  formatAddressList,
  normalizeEmail,
  parseAddressList,
  type EmailAddress,
} from '../../../backend/src/smime/mime/index.ts';
import { throwsCode } from './helpers.ts';

const LISTS: [string, string, EmailAddress[]][] = [
  ['a bare address', 'alice@example.com', [{ address: 'alice@example.com' }]],
  ['the domain is lowercased, the local part is not', 'Alice@Example.COM', [{ address: 'Alice@example.com' }]],
  ['a display name', 'Alice Liddell <alice@example.com>', [{ name: 'Alice Liddell', address: 'alice@example.com' }]],
  [
    'a quoted display name with a comma and escapes',
    '"Liddell, Alice \\"Al\\"" <alice@example.com>',
    [{ name: 'Liddell, Alice "Al"', address: 'alice@example.com' }],
  ],
  [
    'a list with odd spacing',
    ' a@x.org ,b@y.org,\r\n\tC <c@z.org> ',
    [{ address: 'a@x.org' }, { address: 'b@y.org' }, { name: 'C', address: 'c@z.org' }],
  ],
  ['a comment as the name', 'bob@example.com (Bob Builder)', [{ name: 'Bob Builder', address: 'bob@example.com' }]],
  [
    'comments around an angle address are not the name',
    'Bob (the builder) <bob@example.com> (work)',
    [{ name: 'Bob', address: 'bob@example.com' }],
  ],
  ['nested comments', 'bob@example.com (Bob (really) B.)', [{ name: 'Bob (really) B.', address: 'bob@example.com' }]],
  [
    'encoded words in the name (RFC 2047 section 5 (3))',
    '=?UTF-8?Q?J=C3=B6rg?= =?UTF-8?B?TcO8bGxlcg==?= <j@example.com>',
    [{ name: 'JörgMüller', address: 'j@example.com' }],
  ],
  [
    'an encoded word next to a plain word',
    '=?iso-8859-1?q?Ren=E9?= Dupont <r@example.fr>',
    [{ name: 'René Dupont', address: 'r@example.fr' }],
  ],
  ['a quoted local part that needs its quotes', '"john doe"@example.com', [{ address: '"john doe"@example.com' }]],
  ['a quoted local part that does not', '"john.doe"@example.com', [{ address: 'john.doe@example.com' }]],
  ['a domain literal', 'root@[192.0.2.1]', [{ address: 'root@[192.0.2.1]' }]],
  [
    'an internationalised domain (IDNA)',
    'Info <info@Bücher.Example>',
    [{ name: 'Info', address: 'info@xn--bcher-kva.example' }],
  ],
  [
    'a group',
    'Team: a@x.org, B <b@y.org>;, c@z.org',
    [{ address: 'a@x.org', group: 'Team' }, { name: 'B', address: 'b@y.org', group: 'Team' }, { address: 'c@z.org' }],
  ],
  ['an empty group', 'undisclosed-recipients:;', []],
  [
    'an obsolete route (dropped, and marked)',
    'Old <@relay.example:old@example.com>',
    [{ name: 'Old', address: 'old@example.com', route: true }],
  ],
  ['obsolete spaces around dots and @', 'john . doe @ example . com', [{ address: 'john.doe@example.com' }]],
  ['empty entries', ', ,a@x.org,,', [{ address: 'a@x.org' }]],
  ['nothing', '', []],
];

describe('parseAddressList', () => {
  for (const [what, input, expected] of LISTS) {
    it(what, () => assert.deepEqual(parseAddressList(input), expected));
  }

  const INVALID: [string, string][] = [
    ['no @', 'alice'],
    ['a name without an address', 'Alice Liddell'],
    ['an unclosed angle address', 'Alice <alice@example.com'],
    ['an empty angle address', 'Alice <>'],
    ['an empty local part', '@example.com'],
    ['an empty domain', 'alice@'],
    ['a double dot in the domain', 'alice@example..com'],
    ['text after the angle address', 'A <a@x.org> junk'],
    ['two @', 'a@b@c.org'],
  ];
  for (const [what, input] of INVALID) {
    it(`refuses ${what} with MIME_INVALID_ADDRESS`, () =>
      throwsCode(() => parseAddressList(input), 'MIME_INVALID_ADDRESS'));
  }
});

describe('normalizeEmail', () => {
  const CASES: [string, string][] = [
    ['Alice@Example.COM', 'Alice@example.com'],
    [' <bob@EXAMPLE.org> ', 'bob@example.org'],
    ['"x y"@example.com', '"x y"@example.com'],
    ['x@BÜCHER.example', 'x@xn--bcher-kva.example'],
  ];
  for (const [input, expected] of CASES) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(normalizeEmail(input), expected));
  }

  it('refuses anything but exactly one address', () => {
    for (const input of ['Alice <a@x.org>', 'a@x.org, b@y.org', 'a@x.org (c)', 'nobody', '']) {
      throwsCode(() => normalizeEmail(input), 'MIME_INVALID_ADDRESS');
    }
  });
});

describe('formatAddress and formatAddressList', () => {
  const ENTRIES: EmailAddress[] = [
    { address: 'plain@example.com' },
    { name: 'Alice', address: 'alice@example.com' },
    { name: 'Liddell, Alice', address: 'alice@example.com' },
    { name: 'Jörg "the builder" Müller', address: 'j@example.com' },
    { name: '中文 名字', address: 'z@example.cn' },
  ];
  it('writes 7-bit text that parses back to the same entries', () => {
    const list = formatAddressList(ENTRIES);
    assert.match(list, /^[\x20-\x7e]*$/);
    assert.deepEqual(parseAddressList(list), ENTRIES);
  });

  it('keeps groups', () => {
    const grouped: EmailAddress[] = [
      { address: 'a@x.org', group: 'Team' },
      { name: 'B', address: 'b@y.org', group: 'Team' },
      { address: 'c@z.org' },
    ];
    assert.equal(formatAddressList(grouped), 'Team: a@x.org, B <b@y.org>;, c@z.org');
    assert.deepEqual(parseAddressList(formatAddressList(grouped)), grouped);
  });

  it('refuses a non-ASCII local part (that needs SMTPUTF8, not MIME)', () => {
    throwsCode(() => formatAddress({ address: 'jörg@example.com' }), 'MIME_INVALID_ADDRESS');
  });
});
