/**
 * Certificates as people know them (issue 15): a person's name and address and the organisation that vouches for
 * them, not "CN=…, O=…" attribute names. The backend's subject and issuer are RFC 4514-style strings
 * ("CN=Alice Demo, O=Demo, emailAddress=alice@demo.example"); the raw string stays in the details.
 */

/** The attributes of a distinguished name string, in order; a backslash escapes the next character. */
export function dnAttributes(dn: string): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  let current = '';
  const flush = () => {
    const eq = current.indexOf('=');
    if (eq > 0) out.push({ type: current.slice(0, eq).trim().toUpperCase(), value: current.slice(eq + 1).trim() });
    current = '';
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) current += dn[++i];
    else if (c === ',' || c === '+') flush();
    else current += c;
  }
  flush();
  return out;
}

function first(dn: string, ...types: string[]): string | undefined {
  const attrs = dnAttributes(dn);
  for (const t of types) {
    const found = attrs.find((a) => a.type === t)?.value;
    if (found) return found;
  }
  return undefined;
}

/** Who a certificate names: the common name, else the first address, else the organisation, else the string. */
export function personName(subject: string, emails: readonly string[] = []): string {
  return first(subject, 'CN') ?? emails[0] ?? first(subject, 'O') ?? subject;
}

/** Who vouches for it: the issuer's organisation, else its common name. */
export function issuerName(issuer: string): string {
  return first(issuer, 'O', 'CN') ?? issuer;
}
