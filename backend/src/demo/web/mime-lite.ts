/**
 * Just enough MIME for the demo host to compose a text message and show the text of one it received (a real webmail
 * has its own). The S/MIME work is the plugin's; this only builds and reads plain RFC 5322 / RFC 2045 entities.
 */

const enc = new TextEncoder();

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** RFC 2047 encoded-word for non-ASCII header text. */
function headerText(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${b64(enc.encode(s))}?=`;
}

export function composeMessage(m: {
  from: string;
  fromName: string;
  to: string[];
  cc: string[];
  subject: string;
  body: string;
}): Uint8Array {
  const lines = [
    `From: ${headerText(m.fromName)} <${m.from}>`,
    `To: ${m.to.join(', ')}`,
    ...(m.cc.length ? [`Cc: ${m.cc.join(', ')}`] : []),
    `Subject: ${headerText(m.subject)}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${crypto.randomUUID()}@demo.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
  ];
  const body = b64(enc.encode(m.body.replace(/\r?\n/g, '\r\n'))).replace(/.{76}/g, '$&\r\n');
  return enc.encode(`${lines.join('\r\n')}\r\n\r\n${body}\r\n`);
}

interface Entity {
  headers: Map<string, string>;
  body: string; // latin1: one char per byte
}

function parse(latin1: string): Entity {
  const split = latin1.search(/\r?\n\r?\n/);
  const head = split < 0 ? latin1 : latin1.slice(0, split);
  const body = split < 0 ? '' : latin1.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { headers, body };
}

function decodeBody(e: Entity): Uint8Array {
  const cte = (e.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  let s = e.body;
  if (cte === 'base64') s = atob(s.replace(/[^A-Za-z0-9+/=]/g, ''));
  else if (cte === 'quoted-printable')
    s = s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The text of a MIME entity: the first text/plain part, decoded (or a note saying what it is instead). */
export function textOf(bytes: Uint8Array, depth = 0): string {
  let latin1 = '';
  for (const b of bytes) latin1 += String.fromCharCode(b);
  const e = parse(latin1);
  const type = e.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary && depth < 5) {
    const parts = e.body.split(`--${boundary}`).slice(1);
    for (const p of parts) {
      if (p.startsWith('--')) break;
      const text = textOf(
        Uint8Array.from(p.replace(/^\r?\n/, ''), (c) => c.charCodeAt(0)),
        depth + 1,
      );
      if (text) return text;
    }
    return '';
  }
  if (!/^text\/plain/i.test(type)) return depth === 0 ? `[${type.split(';')[0]}: not shown by the demo]` : '';
  return new TextDecoder(/charset="?([^";]+)"?/i.exec(type)?.[1] ?? 'utf-8', { fatal: false }).decode(decodeBody(e));
}
