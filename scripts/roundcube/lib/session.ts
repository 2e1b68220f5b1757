/**
 * A Roundcube session without a browser (tests and benchmarks of the Roundcube stack): the login form as a browser
 * submits it, a cookie jar, and Roundcube's request token for the plugin's AJAX actions.
 */
export class RoundcubeSession {
  readonly jar = new Map<string, string>();
  /** Roundcube's CSRF token of this session (X-Roundcube-Request, `_token`). */
  requestToken = '';

  private constructor(readonly url: string) {}

  /** Log in with the login form; throws unless Roundcube answers with the redirect into the mail view. */
  static async login(url: string, user: string, password: string): Promise<RoundcubeSession> {
    const s = new RoundcubeSession(url);
    const page = await s.fetch('');
    const token = /<input[^>]+name="_token"[^>]+value="([^"]+)"/.exec(await page.text())?.[1];
    if (!token) throw new Error('the login page has no request token');
    const body = new URLSearchParams({
      _task: 'login',
      _action: 'login',
      _timezone: 'UTC',
      _url: '',
      _user: user,
      _pass: password,
      _token: token,
    });
    const res = await s.fetch('?_task=login', { method: 'POST', body });
    if (res.status !== 302) throw new Error(`login of ${user}: HTTP ${res.status}`);
    const mail = await s.fetch('?_task=mail&_mbox=INBOX');
    const env = /"request_token":"([^"]+)"/.exec(await mail.text());
    if (!env) throw new Error(`login of ${user}: no request token in the mail view`);
    s.requestToken = env[1]!;
    return s;
  }

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** A request relative to the Roundcube URL, with the session's cookies; cookies set by the answer are kept. */
  async fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const res = await fetch(this.url + path, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.headers ?? {}), cookie: this.cookieHeader() },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (!value || value === 'deleted' || /expires=Thu, 01[ -]Jan[ -]1970/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** A page as a browser gets it: Roundcube's redirects followed (compose adds its id that way), the HTML. */
  async page(path: string): Promise<string> {
    let res = await this.fetch(path);
    for (let i = 0; i < 5 && res.status >= 300 && res.status < 400; i++) {
      const to = new URL(res.headers.get('location')!, this.url);
      res = await this.fetch(to.pathname.replace(/^\//, '') + to.search);
    }
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    return res.text();
  }

  /** One of the plugin's AJAX actions (plugin.smime-*), with or without Roundcube's request token. */
  action(
    task: 'mail' | 'settings',
    action: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
    withToken = true,
  ): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (withToken) headers['X-Roundcube-Request'] = this.requestToken;
    return this.fetch(`?_task=${task}&_action=${action}&_remote=1`, { ...init, headers });
  }
}
