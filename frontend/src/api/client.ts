/**
 * Typed client of the backend's HTTP API (README "HTTP API"). Every call carries the host's user token
 * (`Authorization: Bearer`, asked from the host each time so the host can renew it) and the browser's unlock cookie
 * (same origin, HttpOnly: this code never sees it). Errors become ApiError with the backend's stable `code`.
 */
import type {
  ApiErrorBody,
  AuditEntryView,
  AuditTrail,
  ContentCipher,
  IncomingAnalysis,
  Me,
  OwnKey,
  ProtectedCopy,
  PublicCertificate,
  Resolution,
  SessionStatus,
  UnlockResult,
} from './types.ts';

export interface ClientOptions {
  /** Where the backend is; '' (default) = the page's own origin. */
  baseUrl?: string;
  /** The user's current token, signed by the host webmail. */
  getToken: () => Promise<string>;
  /** For tests: another fetch. */
  fetch?: typeof fetch;
}

/** An answer with an error body: `code` is stable (backend/src/errors.ts), `details` carries the extra facts. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isApiError(e: unknown, code?: string): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  // Chunked: String.fromCharCode with a spread of a large array overflows the call stack.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export interface OutgoingOptions {
  sign: boolean;
  encrypt: boolean;
  format?: 'multipart-signed' | 'opaque';
  cipher?: ContentCipher;
  /** Header protection (RFC 9788): the message's fields go inside; encrypted mail shows Subject "[...]" outside. */
  protectHeaders?: boolean;
}

export class SmimeApiClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.base = (options.baseUrl ?? '').replace(/\/$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private async request(
    method: string,
    path: string,
    init: { json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${await this.options.getToken()}`,
      ...init.headers,
    };
    let body = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await this.fetchImpl(`${this.base}/api/v1${path}`, { method, headers, body, credentials: 'include' });
    if (!res.ok) {
      let parsed: ApiErrorBody | undefined;
      try {
        parsed = (await res.json()) as ApiErrorBody;
      } catch {
        /* not JSON: a proxy's page, say */
      }
      const { code = 'HTTP_' + res.status, message = res.statusText, ...details } = parsed?.error ?? {};
      throw new ApiError(res.status, code, message, details);
    }
    return res;
  }

  private async json<T>(method: string, path: string, init?: Parameters<SmimeApiClient['request']>[2]): Promise<T> {
    return (await (await this.request(method, path, init)).json()) as T;
  }

  me(): Promise<Me> {
    return this.json('GET', '/me');
  }

  /** The user's own audit trail (GET /me/audit): newest first, the latest 200. */
  async activity(): Promise<AuditEntryView[]> {
    return (await this.json<AuditTrail>('GET', '/me/audit')).entries;
  }

  session(): Promise<SessionStatus> {
    return this.json('GET', '/session');
  }

  unlock(passphrase: string): Promise<UnlockResult> {
    return this.json('POST', '/session/unlock', { json: { passphrase } });
  }

  async lock(all = false): Promise<void> {
    await this.request('DELETE', `/session/unlock${all ? '?all=true' : ''}`);
  }

  async changePassphrase(currentPassphrase: string, newPassphrase: string): Promise<void> {
    await this.request('POST', '/session/passphrase', { json: { currentPassphrase, newPassphrase } });
  }

  async keys(): Promise<OwnKey[]> {
    return (await this.json<{ keys: OwnKey[] }>('GET', '/keys')).keys;
  }

  async importKey(p12: Uint8Array, password: string, passphrase: string): Promise<OwnKey> {
    return (await this.json<{ key: OwnKey }>('POST', '/keys', { json: { p12: toBase64(p12), password, passphrase } }))
      .key;
  }

  async setDefaultKey(id: string): Promise<OwnKey> {
    return (await this.json<{ key: OwnKey }>('PUT', `/keys/${encodeURIComponent(id)}/default`)).key;
  }

  /** Needs the keys unlocked (the session cookie) or the passphrase; LOCKED otherwise. */
  async deleteKey(id: string, fingerprintSha256: string, passphrase?: string): Promise<void> {
    await this.request('DELETE', `/keys/${encodeURIComponent(id)}?confirm=${encodeURIComponent(fingerprintSha256)}`, {
      ...(passphrase !== undefined ? { json: { passphrase } } : {}),
    });
  }

  /**
   * Back up a key (issue 17): the PKCS#12 under `exportPassword` and the file name the server suggests. Needs the
   * passphrase even while the keys are unlocked.
   */
  async exportKey(id: string, passphrase: string, exportPassword: string): Promise<{ file: Blob; filename: string }> {
    const res = await this.request('POST', `/keys/${encodeURIComponent(id)}/export`, {
      json: { passphrase, exportPassword },
    });
    const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
    return { file: await res.blob(), filename: named?.[1] ?? 'key.p12' };
  }

  /** Public keys the user can encrypt to; `source`: 'directory', 'exchanged' (harvested or imported), or one of those. */
  async certificates(filter: { q?: string; source?: string } = {}): Promise<PublicCertificate[]> {
    const params = new URLSearchParams();
    if (filter.q) params.set('q', filter.q);
    if (filter.source) params.set('source', filter.source);
    const q = params.toString() ? `?${params}` : '';
    return (await this.json<{ certificates: PublicCertificate[] }>('GET', `/certificates${q}`)).certificates;
  }

  async certificatePem(id: string): Promise<string> {
    return (await this.json<{ certificate: { pem: string } }>('GET', `/certificates/${encodeURIComponent(id)}`))
      .certificate.pem;
  }

  async deleteCertificate(id: string): Promise<void> {
    await this.request('DELETE', `/certificates/${encodeURIComponent(id)}`);
  }

  async resolve(emails: string[]): Promise<Resolution[]> {
    if (emails.length === 0) return [];
    const q = emails.map((e) => `email=${encodeURIComponent(e)}`).join('&');
    return (await this.json<{ recipients: Resolution[] }>('GET', `/certificates/resolve?${q}`)).recipients;
  }

  /** Protect a composed message: one copy, or one per Bcc recipient when encrypting to Bcc recipients. */
  async protectOutgoing(raw: Uint8Array, o: OutgoingOptions): Promise<ProtectedCopy[]> {
    const q = new URLSearchParams({ sign: String(o.sign), encrypt: String(o.encrypt) });
    if (o.format) q.set('format', o.format);
    if (o.cipher) q.set('cipher', o.cipher);
    if (o.protectHeaders) q.set('protectHeaders', 'true');
    const body = await this.json<{ messages: { bcc: string | null; message: string }[] }>(
      'POST',
      `/messages/outgoing?${q}`,
      {
        body: raw as BodyInit,
        headers: { 'content-type': 'message/rfc822', accept: 'application/json' },
      },
    );
    return body.messages.map((m) => ({ bcc: m.bcc, raw: fromBase64(m.message) }));
  }

  analyzeIncoming(raw: Uint8Array): Promise<IncomingAnalysis> {
    return this.json('POST', '/messages/incoming', {
      body: raw as BodyInit,
      headers: { 'content-type': 'message/rfc822' },
    });
  }
}
