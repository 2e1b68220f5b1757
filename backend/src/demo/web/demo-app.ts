/**
 * The demo webmail host (issue 5). It is built ONLY on the plugin contract: it loads /plugin/smime-plugin.js like any
 * host, gives it a token getter, mounts the components where a webmail would, hands composed messages to
 * `protect()` and received ones to `show()`. Login and mailbox are the demo's own small API (/demo/api).
 */
import type { ComposeHandle, SmimePlugin } from '../../../../plugin/src/contract.ts';
import { composeMessage, textOf } from './mime-lite.ts';

type PluginModule = typeof import('../../../../plugin/src/index.ts');

interface DemoUser {
  email: string;
  name: string;
  passphrase: string | null;
  note: string;
}
interface MessageMeta {
  id: string;
  folder: 'inbox' | 'sent';
  from: string;
  to: string[];
  subject: string;
  tampered: boolean;
  date: string;
}

/** Renew the demo token this long before it expires. */
const TOKEN_RENEW_MARGIN_MS = 60_000;
const PLUGIN_URL = '/plugin/smime-plugin.js';
/** Which demo user this tab is logged in as: a reload keeps the session (issue 15). Only the address is kept (the
 * demo login takes no password and tokens are asked for again); the unlock session is the backend's cookie. */
const SESSION_KEY = 'smime-demo-user';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;
const app = $('#app');

let mod: PluginModule;
let plugin: SmimePlugin | undefined;
let me: DemoUser | undefined;
let token: { value: string; expiresAt: number } | undefined;
let cleanup: (() => void)[] = [];

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function login(email: string): Promise<string> {
  const res = await fetch('/demo/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (!res.ok) throw new Error(`login failed (${res.status})`);
  const body = (await res.json()) as { token: string; expiresInS: number };
  token = { value: body.token, expiresAt: Date.now() + body.expiresInS * 1000 };
  return body.token;
}

/** The host side of the contract: the current user's token, renewed before it runs out. */
async function getToken(): Promise<string> {
  if (!me) throw new Error('not logged in');
  if (token && token.expiresAt - Date.now() > TOKEN_RENEW_MARGIN_MS) return token.value;
  return login(me.email);
}

async function mailApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/demo/api${path}`, {
    method,
    headers: { authorization: `Bearer ${await getToken()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok)
    throw new Error(
      ((await res.json().catch(() => ({}))) as { error?: { message?: string } }).error?.message ?? res.statusText,
    );
  return (await res.json()) as T;
}

/** Counts the views shown: a view that loads something checks it is still the current one before it renders. */
let viewSeq = 0;

function resetView(): void {
  viewSeq++;
  for (const c of cleanup) c();
  cleanup = [];
  app.innerHTML = '';
}

function setNav(view: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('#nav button')) {
    if (b.dataset.view === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  location.hash = view;
}

function notice(text: string, error = false): HTMLElement {
  const n = document.createElement('div');
  n.className = `notice${error ? ' error' : ''}`;
  n.setAttribute('role', error ? 'alert' : 'status');
  n.textContent = text;
  return n;
}

// ---- views ---------------------------------------------------------------------------------------------------------

async function demoUsers(): Promise<DemoUser[]> {
  return ((await (await fetch('/demo/api/users')).json()) as { users: DemoUser[] }).users;
}

async function showLogin(): Promise<void> {
  sessionStorage.removeItem(SESSION_KEY);
  plugin?.destroy();
  plugin = undefined;
  me = undefined;
  token = undefined;
  $('#nav').hidden = true;
  $('#switch-user').hidden = true;
  $('#who').textContent = '';
  resetView();
  const users = await demoUsers();
  app.innerHTML = `<section class="card"><h1>Log in as a demo user</h1>
    <p class="muted">The demo webmail's login stands in for yours: it asks the server for the token your webmail would sign.</p>
    <div class="users">${users
      .map(
        (u) => `<button type="button" data-email="${esc(u.email)}"><strong>${esc(u.name)}</strong><br>${esc(u.email)}
        <div class="muted">${esc(u.note)}</div>${u.passphrase ? `<div class="muted">demo passphrase: <code>${esc(u.passphrase)}</code></div>` : ''}</button>`,
      )
      .join('')}</div></section>`;
  for (const b of app.querySelectorAll<HTMLButtonElement>('.users button'))
    b.addEventListener('click', () => void enter(users.find((u) => u.email === b.dataset.email)!));
}

async function enter(user: DemoUser, view = 'inbox'): Promise<void> {
  me = user;
  await login(user.email);
  sessionStorage.setItem(SESSION_KEY, user.email);
  plugin = mod.createSmimePlugin({ getToken, userEmail: user.email });
  $('#unlock-slot').innerHTML = '';
  plugin.mountUnlockControl($('#unlock-slot'));
  $('#nav').hidden = false;
  $('#switch-user').hidden = false;
  $('#who').textContent = `${user.name} <${user.email}>`;
  if (view === 'sent' || view === 'inbox') await showFolder(view);
  else if (view === 'compose') showCompose();
  else if (view === 'settings') showSettings();
  else await showFolder('inbox');
}

async function showFolder(folder: 'inbox' | 'sent', flash?: HTMLElement): Promise<void> {
  setNav(folder);
  resetView();
  const seq = viewSeq;
  const { messages } = await mailApi<{ messages: MessageMeta[] }>('GET', `/messages?folder=${folder}`);
  if (seq !== viewSeq) return; // the user went elsewhere while the folder loaded
  if (flash) app.append(flash);
  const card = document.createElement('section');
  card.className = 'card';
  card.innerHTML = `<h1>${folder === 'inbox' ? 'Inbox' : 'Sent'}</h1>${
    messages.length === 0
      ? '<p class="muted">No messages.</p>'
      : `<table class="mail"><thead><tr><th>${folder === 'inbox' ? 'From' : 'To'}</th><th>Subject</th><th>Date</th></tr></thead><tbody>${messages
          .map(
            (m) => `<tr class="row" data-id="${m.id}"><td>${esc(folder === 'inbox' ? m.from : m.to.join(', '))}</td>
              <td><a href="#${folder}/${m.id}" data-id="${m.id}">${esc(m.subject || '(no subject)')}</a>${m.tampered ? ' <span class="badge">tampered</span>' : ''}</td>
              <td>${new Date(m.date).toLocaleString()}</td></tr>`,
          )
          .join('')}</tbody></table>`
  }`;
  app.append(card);
  for (const a of card.querySelectorAll<HTMLAnchorElement>('a[data-id]'))
    a.addEventListener('click', (e) => {
      e.preventDefault();
      void showMessage(messages.find((m) => m.id === a.dataset.id)!);
    });
}

async function showMessage(m: MessageMeta): Promise<void> {
  resetView();
  const seq = viewSeq;
  const card = document.createElement('section');
  card.className = 'card';
  card.innerHTML = `<p><button type="button" id="back">← Back</button></p><h1>${esc(m.subject || '(no subject)')}</h1>
    <div id="status-slot"></div>
    <dl class="headers"><dt>From</dt><dd>${esc(m.from)}</dd><dt>To</dt><dd>${esc(m.to.join(', '))}</dd><dt>Date</dt><dd>${new Date(m.date).toLocaleString()}</dd></dl>
    <pre class="body" id="body" aria-label="Message text"></pre>
    <p><button type="button" id="tamper" title="Changes one byte of the stored message, as a careless relay or an attacker would">Tamper with this message</button>
    ${m.tampered ? '<span class="badge">one byte of this message was changed</span>' : ''}</p>`;
  app.append(card);
  $('#back').addEventListener('click', () => void showFolder(m.folder));
  $('#tamper').addEventListener('click', () => {
    void mailApi('POST', `/messages/${m.id}/tamper`).then(() => showMessage({ ...m, tampered: true }));
  });
  const res = await fetch(`/demo/api/messages/${m.id}/raw`, {
    headers: { authorization: `Bearer ${await getToken()}` },
  });
  const raw = new Uint8Array(await res.arrayBuffer());
  if (seq !== viewSeq) return; // the user went elsewhere while the message loaded
  const status = plugin!.mountMessageStatus($('#status-slot'));
  cleanup.push(() => status.destroy());
  const render = (content: Uint8Array) => ($('#body').textContent = textOf(content));
  status.onResult((r) => render(r.content));
  try {
    render((await status.show(raw)).content);
  } catch (e) {
    card.prepend(notice(`Could not analyse the message: ${(e as Error).message}`, true));
  }
}

function showCompose(): void {
  setNav('compose');
  resetView();
  const card = document.createElement('section');
  card.className = 'card';
  card.innerHTML = `<h1>New message</h1><div id="compose-notice"></div>
    <form class="compose" novalidate>
      <label for="to">To</label><input id="to" name="to" autocomplete="off" placeholder="bob@demo.example" />
      <label for="cc">Cc</label><input id="cc" name="cc" autocomplete="off" />
      <label for="subject">Subject</label><input id="subject" name="subject" />
      <label for="text" class="full">Message</label>
      <textarea id="text" name="text" rows="8" class="full"></textarea>
      <div class="full" id="smime-slot"></div>
      <div class="full"><button type="submit" class="primary" id="send">Send</button></div>
    </form>`;
  app.append(card);
  const compose: ComposeHandle = plugin!.mountComposeControls($('#smime-slot'));
  cleanup.push(() => compose.destroy());
  const form = card.querySelector('form')!;
  const list = (v: string) =>
    v
      .split(/[,;\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
  const recipients = () => [...list($<HTMLInputElement>('#to').value), ...list($<HTMLInputElement>('#cc').value)];
  const sendButton = $<HTMLButtonElement>('#send');
  const update = () => {
    sendButton.disabled = !compose.state().canSend;
  };
  for (const id of ['#to', '#cc']) $(id).addEventListener('input', () => compose.setRecipients(recipients()));
  compose.element.addEventListener('smime-compose-change', update);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void sendComposed(compose, list, sendButton, update);
  });
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** "Send": protect the composed message through the plugin, then hand each copy to the demo mailboxes. */
async function sendComposed(
  compose: ComposeHandle,
  list: (v: string) => string[],
  sendButton: HTMLButtonElement,
  update: () => void,
): Promise<void> {
  const slot = $('#compose-notice');
  slot.innerHTML = '';
  const to = list($<HTMLInputElement>('#to').value);
  if (to.length === 0) return void slot.append(notice('Add a recipient.', true));
  const raw = composeMessage({
    from: me!.email,
    fromName: me!.name,
    to,
    cc: list($<HTMLInputElement>('#cc').value),
    subject: $<HTMLInputElement>('#subject').value,
    body: $<HTMLTextAreaElement>('#text').value,
  });
  sendButton.disabled = true;
  try {
    const result = await compose.protect(raw);
    const sent = await mailApi<{ delivered: string[]; undeliverable: string[] }>('POST', '/messages', {
      messages: result.messages.map((m) => ({ bcc: m.bcc, message: b64(m.raw) })),
    });
    const st = compose.state();
    const how = result.protected
      ? st.sign && st.encrypt
        ? 'signed and encrypted'
        : st.sign
          ? 'signed'
          : 'encrypted'
      : 'unprotected';
    await showFolder(
      'sent',
      notice(
        `Sent (${how}) to ${sent.delivered.join(', ') || 'nobody'}${sent.undeliverable.length ? `; not a demo mailbox: ${sent.undeliverable.join(', ')}` : ''}.`,
      ),
    );
  } catch (err) {
    const e = err as Error & { missing?: string[] };
    slot.append(notice(`Not sent: ${e.message}`, true));
    update();
  }
}

function showSettings(): void {
  setNav('settings');
  resetView();
  const s = plugin!.mountSettings(app);
  cleanup.push(() => s.destroy());
}

async function main(): Promise<void> {
  mod = (await import(/* the host loads the plugin at run time, as any webmail would */ PLUGIN_URL)) as PluginModule;
  $('#switch-user').addEventListener('click', () => void showLogin());
  for (const b of document.querySelectorAll<HTMLButtonElement>('#nav button'))
    b.addEventListener('click', () => {
      const v = b.dataset.view;
      if (v === 'inbox' || v === 'sent') void showFolder(v);
      else if (v === 'compose') showCompose();
      else showSettings();
    });
  // After a reload: the same user, on the same view.
  const email = sessionStorage.getItem(SESSION_KEY);
  const user = email ? (await demoUsers()).find((u) => u.email === email) : undefined;
  if (user) await enter(user, location.hash.slice(1));
  else await showLogin();
}

main().catch((e: unknown) => {
  app.replaceChildren(notice(`The demo could not start: ${(e as Error).message}`, true));
});
