import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isApiError, type SmimeApiClient } from '../api/client.ts';
import type { ContentCipher, OwnKey, PublicCertificate } from '../api/types.ts';
import { msg } from '../messages.ts';
import { emit } from '../shared/events.ts';
import { icon } from '../shared/icons.ts';
import { issuerName, personName } from '../shared/names.ts';
import { localPreferences, type Defaults, type PreferenceStore } from '../shared/prefs.ts';
import './activity.ts';
import { styles } from './settings.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'smime-settings': SmimeSettings;
  }
  interface GlobalEventHandlersEventMap {
    'smime-settings-change': CustomEvent<Defaults>;
    'smime-key-imported': CustomEvent<{ key: OwnKey }>;
    'smime-key-deleted': CustomEvent<{ id: string }>;
  }
}

/** The server's shortest export password (MIN_EXPORT_PASSWORD_CHARS in backend/src/api/keys/routes.ts). */
const MIN_EXPORT_PASSWORD_CHARS = 8;

const CIPHERS: ContentCipher[] = ['aes-256-cbc', 'aes-256-gcm', 'aes-128-cbc', 'aes-128-gcm'];

/**
 * The S/MIME settings pane: the user's own keys (validity, signing default, import a .p12, back up as a .p12, delete
 * with confirmation, change passphrase), other people's certificates (source, validity, filter, details, delete the
 * exchanged ones), the defaults for new messages, and the user's own activity (<smime-activity>).
 *
 * @fires smime-settings-change - the defaults changed (detail: sign, encrypt, cipher)
 * @fires smime-key-imported - a key was imported
 * @fires smime-key-deleted - a key was deleted
 * @fires smime-passphrase-changed - the passphrase was changed
 * @csspart section - each section
 * @csspart keys - the own keys table
 * @csspart certificates - the certificates table
 * @csspart form - each form
 * @csspart message - status and error lines
 */
@customElement('smime-settings')
export class SmimeSettings extends LitElement {
  static override styles = styles;

  @property({ attribute: false }) accessor client: SmimeApiClient | undefined;
  /** The user's address: the key of their stored defaults. */
  @property() accessor user = '';
  @property({ attribute: false }) accessor preferences: PreferenceStore = localPreferences;

  @state() private accessor keys: OwnKey[] | undefined;
  @state() private accessor certs: PublicCertificate[] | undefined;
  @state() private accessor filter = '';
  @state() private accessor sourceFilter = '';
  @state() private accessor confirming: string | undefined;
  /** The key whose backup form is open. */
  @state() private accessor backingUp: string | undefined;
  @state() private accessor openCert: string | undefined;
  @state() private accessor defaults: Defaults = { sign: true, encrypt: false };
  @state() private accessor notes: Record<string, { text: string; error: boolean }> = {};
  @state() private accessor minLength = 10;

  private filterTimer: ReturnType<typeof setTimeout> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.reload();
  }

  /** Reload keys and certificates from the server. */
  async reload(): Promise<void> {
    this.defaults = this.preferences.load(this.user);
    if (!this.client) return;
    const [keys, certs, me] = await Promise.allSettled([
      this.client.keys(),
      this.client.certificates({ q: this.filter || undefined, source: this.sourceFilter || undefined }),
      this.client.me(),
    ]);
    this.keys = keys.status === 'fulfilled' ? keys.value : [];
    this.certs = certs.status === 'fulfilled' ? certs.value : [];
    if (me.status === 'fulfilled') this.minLength = me.value.passphraseMinLength;
    // The change just made is an audit entry: show it in Activity.
    await this.renderRoot.querySelector('smime-activity')?.reload();
  }

  private note(where: string, text: string, error = false): void {
    this.notes = { ...this.notes, [where]: { text, error } };
  }

  private errorText(e: unknown): string {
    const m = msg();
    if (isApiError(e, 'WRONG_PASSPHRASE')) return m.wrongPassphrase(Number(e.details.failures ?? 1));
    if (isApiError(e, 'THROTTLED')) return m.throttled(Number(e.details.retryAfterSeconds ?? 1));
    if (isApiError(e, 'KEYS_LEFT_UNDER_OLD_PASSPHRASE'))
      return m.keysLeftBehind(Array.isArray(e.details.keyIds) ? e.details.keyIds.length : 1);
    if (isApiError(e, 'PASSPHRASE_TOO_WEAK'))
      return m.passphraseTooShort(Number(e.details.minLength ?? this.minLength));
    if (isApiError(e)) return e.message;
    return m.genericError(e instanceof Error ? e.message : String(e));
  }

  private renderNote(where: string) {
    const n = this.notes[where];
    return html`<div
      part="message"
      class="full ${n?.error ? 'error' : 'ok'}"
      role=${n?.error ? 'alert' : 'status'}
      data-note=${where}
    >
      ${n?.text ?? ''}
    </div>`;
  }

  // ---- own keys -------------------------------------------------------------------------------------------------

  private async makeDefault(k: OwnKey): Promise<void> {
    try {
      await this.client!.setDefaultKey(k.id);
      await this.reload();
    } catch (e) {
      this.note('keys', this.errorText(e), true);
    }
  }

  private async deleteKey(k: OwnKey, retried = false): Promise<void> {
    try {
      await this.client!.deleteKey(k.id, k.fingerprintSha256);
      this.confirming = undefined;
      emit(this, 'smime-key-deleted', { id: k.id });
      await this.reload();
    } catch (e) {
      // Deleting needs the user, not just the page: with the keys locked, the unlock prompt opens and the delete
      // goes on once unlocked.
      if (!retried && isApiError(e, 'LOCKED')) {
        const again = () => void this.deleteKey(k, true);
        document.addEventListener('smime-unlocked', again, { once: true });
        emit(this, 'smime-unlock-request', { reason: 'manage' });
        return;
      }
      this.note('keys', this.errorText(e), true);
    }
  }

  /** Key backup (issue 17): passphrase and export password (twice); the browser saves the file. */
  private async backUpKey(k: OwnKey, ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    const value = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const m = msg();
    if (value('export') !== value('export-again')) return this.note('keys', m.exportPasswordMismatch, true);
    if ([...value('export')].length < MIN_EXPORT_PASSWORD_CHARS)
      return this.note('keys', m.exportPasswordTooShort(MIN_EXPORT_PASSWORD_CHARS), true);
    try {
      const { file, filename } = await this.client!.exportKey(k.id, value('passphrase'), value('export'));
      form.reset();
      const url = URL.createObjectURL(file);
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 0);
      this.backingUp = undefined;
      this.note('keys', m.backedUp(filename));
    } catch (e) {
      this.note('keys', this.errorText(e), true);
    }
  }

  private renderBackup(k: OwnKey) {
    const m = msg();
    const id = (n: string) => `${n}-${k.id}`;
    return html`<form
      part="form"
      class="confirm"
      data-action="backup"
      @submit=${(ev: SubmitEvent) => void this.backUpKey(k, ev)}
    >
      <p class="muted full">${m.backUpHelp}</p>
      <label for=${id('bp')}>${m.yourPassphrase}</label
      ><input id=${id('bp')} name="passphrase" type="password" autocomplete="current-password" required />
      <label for=${id('be')}>${m.exportPassword}</label
      ><input id=${id('be')} name="export" type="password" autocomplete="new-password" required />
      <label for=${id('ba')}>${m.confirmExportPassword}</label
      ><input id=${id('ba')} name="export-again" type="password" autocomplete="new-password" required />
      <div class="actions full">
        <button class="primary" type="submit">${m.backUpButton}</button>
        <button type="button" @click=${() => (this.backingUp = undefined)}>${m.cancel}</button>
      </div>
    </form>`;
  }

  private renderKeys() {
    const m = msg();
    if (!this.keys) return html`<p>${m.loading}</p>`;
    if (this.keys.length === 0) return html`<p>${m.noOwnKeys}</p>`;
    const date = (d: string) => new Date(d).toLocaleDateString();
    return html`<table part="keys">
      <thead>
        <tr>
          <th scope="col">${m.subject}</th>
          <th scope="col">${m.validity}</th>
          <th scope="col">${m.status}</th>
          <th scope="col"><span class="visually-hidden">${m.delete}</span></th>
        </tr>
      </thead>
      <tbody>
        ${this.keys.map((k) => {
          const tone = k.status === 'valid' ? 'ok' : 'bad';
          return html`<tr data-key=${k.id}>
            <td>
              <strong>${personName(k.subject, k.emails)}</strong>
              <div class="muted">${k.emails.join(', ')}</div>
              <div class="muted">${m.issuedBy(issuerName(k.issuer))} · ${k.keyAlgorithm} ${k.keySize}</div>
            </td>
            <td>${date(k.notBefore)} – ${date(k.notAfter)}</td>
            <td>
              <span class="badge tone-${tone}">${icon(tone)}${m.validityState[k.status] ?? k.status}</span>
              ${k.isDefault ? html`<div class="badge tone-info">${m.isDefault}</div>` : nothing}
              ${k.mustChangePassphrase ? html`<div class="badge tone-warn">${m.pendingKey}</div>` : nothing}
            </td>
            <td>
              <div class="actions">
                ${k.isDefault ? nothing : html`<button type="button" @click=${() => void this.makeDefault(k)}>${m.makeDefault}</button>`}
                ${
                  k.mustChangePassphrase
                    ? nothing
                    : html`<button
                        type="button"
                        aria-label=${m.backUpKeyLabel(personName(k.subject, k.emails), date(k.notAfter))}
                        aria-expanded=${this.backingUp === k.id ? 'true' : 'false'}
                        @click=${() => (this.backingUp = this.backingUp === k.id ? undefined : k.id)}
                      >
                        ${m.backUp}
                      </button>`
                }
                <button
                  type="button"
                  class="danger"
                  aria-label=${m.deleteKeyLabel(personName(k.subject, k.emails), date(k.notAfter))}
                  aria-expanded=${this.confirming === k.id ? 'true' : 'false'}
                  @click=${() => (this.confirming = this.confirming === k.id ? undefined : k.id)}
                >
                  ${m.delete}
                </button>
              </div>
              ${this.backingUp === k.id ? this.renderBackup(k) : nothing}
              ${
                this.confirming === k.id
                  ? html`<div class="confirm tone-bad" role="alert">
                      <p>
                        ${m.confirmDelete(`${personName(k.subject, k.emails)} (${m.validUntil(date(k.notAfter))})`)}
                      </p>
                      <p class="muted">${m.fingerprint}: <code>${k.fingerprintSha256}</code></p>
                      <div class="actions">
                        <button
                          type="button"
                          class="danger"
                          data-action="confirm-delete"
                          @click=${() => void this.deleteKey(k)}
                        >
                          ${m.confirmDeleteButton}
                        </button>
                        <button type="button" @click=${() => (this.confirming = undefined)}>${m.cancel}</button>
                      </div>
                    </div>`
                  : nothing
              }
            </td>
          </tr>`;
        })}
      </tbody>
    </table>`;
  }

  private async importKey(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    const file = (form.elements.namedItem('p12') as HTMLInputElement).files?.[0];
    const password = (form.elements.namedItem('password') as HTMLInputElement).value;
    const passphrase = (form.elements.namedItem('passphrase') as HTMLInputElement).value;
    const m = msg();
    if (!file) return this.note('import', m.chooseFile, true);
    try {
      const key = await this.client!.importKey(new Uint8Array(await file.arrayBuffer()), password, passphrase);
      form.reset();
      this.note('import', m.imported(key.subject));
      emit(this, 'smime-key-imported', { key });
      await this.reload();
    } catch (e) {
      this.note('import', this.errorText(e), true);
    }
  }

  private async changePassphrase(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    const value = (n: string) => (form.elements.namedItem(n) as HTMLInputElement).value;
    const m = msg();
    if (value('new') !== value('again')) return this.note('passphrase', m.passphraseMismatch, true);
    if ([...value('new')].length < this.minLength)
      return this.note('passphrase', m.passphraseTooShort(this.minLength), true);
    try {
      await this.client!.changePassphrase(value('current'), value('new'));
      form.reset();
      this.note('passphrase', m.passphraseChanged);
      emit(this, 'smime-passphrase-changed', {});
      await this.reload();
    } catch (e) {
      this.note('passphrase', this.errorText(e), true);
    }
  }

  // ---- other people's certificates ------------------------------------------------------------------------------

  private onFilter(ev: InputEvent): void {
    this.filter = (ev.target as HTMLInputElement).value;
    clearTimeout(this.filterTimer);
    this.filterTimer = setTimeout(() => void this.reload(), 200);
  }

  private async deleteCert(c: PublicCertificate): Promise<void> {
    try {
      await this.client!.deleteCertificate(c.id);
      await this.reload();
    } catch (e) {
      this.note('certs', this.errorText(e), true);
    }
  }

  private renderCerts() {
    const m = msg();
    if (!this.certs) return html`<p>${m.loading}</p>`;
    const date = (d: string) => new Date(d).toLocaleDateString();
    return html`<label for="filter">${m.filter}</label>
      <input id="filter" type="search" .value=${this.filter} @input=${this.onFilter} />
      <label for="source-filter">${m.source}</label>
      <select
        id="source-filter"
        @change=${(e: Event) => {
          this.sourceFilter = (e.target as HTMLSelectElement).value;
          void this.reload();
        }}
      >
        <option value="" ?selected=${!this.sourceFilter}>${m.allSources}</option>
        ${['directory', 'harvested', 'imported'].map((src) => html`<option value=${src} ?selected=${this.sourceFilter === src}>${m.sources[src]}</option>`)}
      </select>
      ${
        this.certs.length === 0
          ? html`<p>${m.noPublicKeys}</p>`
          : html`<table part="certificates">
              <thead>
                <tr>
                  <th scope="col">${m.email}</th>
                  <th scope="col">${m.source}</th>
                  <th scope="col">${m.validity}</th>
                  <th scope="col"><span class="visually-hidden">${m.details}</span></th>
                </tr>
              </thead>
              <tbody>
                ${this.certs.map((c) => {
                  const tone = c.status === 'valid' ? 'ok' : 'bad';
                  const open = this.openCert === c.id;
                  return html`<tr data-cert=${c.id}>
                      <td>
                        <strong>${personName(c.subject, c.email ? [c.email] : [])}</strong>
                        <div class="muted">${c.email ?? ''}</div>
                        <div class="muted">${m.issuedBy(issuerName(c.issuer))}</div>
                      </td>
                      <td>${m.sources[c.source] ?? c.source}</td>
                      <td>
                        <span class="badge tone-${tone}">${icon(tone)}${m.validityState[c.status] ?? c.status}</span>
                        <div class="muted">${date(c.notBefore)} – ${date(c.notAfter)}</div>
                      </td>
                      <td class="actions">
                        <button
                          type="button"
                          aria-label=${`${open ? m.hideDetails : m.showDetails}: ${c.email ?? personName(c.subject)}`}
                          aria-expanded=${open ? 'true' : 'false'}
                          aria-controls="cert-${c.id}"
                          @click=${() => (this.openCert = open ? undefined : c.id)}
                        >
                          ${open ? m.hideDetails : m.showDetails}
                        </button>
                        ${
                          c.source === 'directory'
                            ? nothing
                            : html`<button
                                type="button"
                                class="danger"
                                aria-label=${m.deleteCertLabel(c.email ?? personName(c.subject))}
                                @click=${() => void this.deleteCert(c)}
                              >
                                ${m.delete}
                              </button>`
                        }
                      </td>
                    </tr>
                    ${
                      open
                        ? html`<tr id="cert-${c.id}">
                            <td colspan="4">
                              <dl>
                                <div><strong>${m.subject}:</strong> ${c.subject}</div>
                                <div><strong>${m.issuer}:</strong> ${c.issuer}</div>
                                <div><strong>${m.serialNumber}:</strong> ${c.serialNumber}</div>
                                <div><strong>${m.fingerprint}:</strong> <code>${c.fingerprintSha256}</code></div>
                                <div><strong>${m.algorithms}:</strong> ${c.keyAlgorithm} ${c.keySize}</div>
                              </dl>
                            </td>
                          </tr>`
                        : nothing
                    }`;
                })}
              </tbody>
            </table>`
      }
      ${this.renderNote('certs')}`;
  }

  // ---- defaults -------------------------------------------------------------------------------------------------

  private setDefaults(patch: Partial<Defaults>): void {
    this.defaults = { ...this.defaults, ...patch };
    this.preferences.save(this.user, this.defaults);
    this.note('defaults', msg().saved);
    emit(this, 'smime-settings-change', this.defaults);
  }

  override render() {
    const m = msg();
    return html`<h2>${m.settingsTitle}</h2>
      <section part="section" aria-labelledby="h-keys">
        <h3 id="h-keys">${m.ownKeys}</h3>
        ${this.renderKeys()} ${this.renderNote('keys')}
      </section>
      <section part="section" aria-labelledby="h-import">
        <h3 id="h-import">${m.importKey}</h3>
        <form part="form" @submit=${this.importKey}>
          <label for="p12">${m.p12File}</label
          ><input id="p12" name="p12" type="file" accept=".p12,.pfx,application/x-pkcs12" />
          <label for="p12-password">${m.p12Password}</label
          ><input id="p12-password" name="password" type="password" autocomplete="off" />
          <label for="import-passphrase">${m.yourPassphrase}</label>
          <input
            id="import-passphrase"
            name="passphrase"
            type="password"
            autocomplete="current-password"
            aria-describedby="import-help"
          />
          <p id="import-help" class="muted full">${m.yourPassphraseHelp}</p>
          <div class="full"><button class="primary" type="submit">${m.import}</button></div>
          ${this.renderNote('import')}
        </form>
      </section>
      <section part="section" aria-labelledby="h-pass">
        <h3 id="h-pass">${m.changePassphrase}</h3>
        <form part="form" @submit=${this.changePassphrase}>
          <label for="current">${m.currentPassphrase}</label
          ><input id="current" name="current" type="password" autocomplete="current-password" />
          <label for="new">${m.newPassphrase}</label
          ><input id="new" name="new" type="password" autocomplete="new-password" />
          <label for="again">${m.confirmPassphrase}</label
          ><input id="again" name="again" type="password" autocomplete="new-password" />
          <p class="muted full">${m.passphraseTooShort(this.minLength)}</p>
          <div class="full"><button class="primary" type="submit">${m.changePassphrase}</button></div>
          ${this.renderNote('passphrase')}
        </form>
      </section>
      <section part="section" aria-labelledby="h-certs">
        <h3 id="h-certs">${m.publicKeys}</h3>
        ${this.renderCerts()}
      </section>
      <section part="section" aria-labelledby="h-defaults">
        <h3 id="h-defaults">${m.defaults}</h3>
        <div>
          <label
            ><input
              type="checkbox"
              name="sign-default"
              .checked=${this.defaults.sign}
              @change=${(e: Event) => this.setDefaults({ sign: (e.target as HTMLInputElement).checked })}
            />
            ${m.signByDefault}</label
          >
        </div>
        <div>
          <label
            ><input
              type="checkbox"
              name="encrypt-default"
              .checked=${this.defaults.encrypt}
              @change=${(e: Event) => this.setDefaults({ encrypt: (e.target as HTMLInputElement).checked })}
            />
            ${m.encryptByDefault}</label
          >
        </div>
        <div>
          <label
            ><input
              type="checkbox"
              name="protect-headers-default"
              .checked=${this.defaults.protectHeaders ?? false}
              @change=${(e: Event) => this.setDefaults({ protectHeaders: (e.target as HTMLInputElement).checked })}
            />
            ${m.protectHeadersByDefault}</label
          >
        </div>
        <div>
          <label for="cipher">${m.cipherLabel}</label>
          <select
            id="cipher"
            @change=${(e: Event) => {
              const v = (e.target as HTMLSelectElement).value;
              this.setDefaults({ cipher: v ? (v as ContentCipher) : undefined });
            }}
          >
            <option value="" ?selected=${!this.defaults.cipher}>${m.cipherAuto}</option>
            ${CIPHERS.map((c) => html`<option value=${c} ?selected=${this.defaults.cipher === c}>${c}</option>`)}
          </select>
        </div>
        ${this.renderNote('defaults')}
      </section>
      <smime-activity .client=${this.client}></smime-activity>`;
  }
}
