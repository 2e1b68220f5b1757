import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { SmimeApiClient } from '../api/client.ts';
import type { Resolution } from '../api/types.ts';
import { msg } from '../messages.ts';
import { emit } from '../shared/events.ts';
import { icon } from '../shared/icons.ts';
import { styles } from './compose-controls.styles.ts';

export interface ComposeState {
  sign: boolean;
  encrypt: boolean;
  /** Header protection (RFC 9788) of a signed or encrypted message. */
  protectHeaders: boolean;
  /** Recipients without a usable certificate (by address). */
  missing: string[];
  /** Whether the message may be sent as chosen: false while Encrypt is on and anyone lacks a certificate. */
  canSend: boolean;
  /** A recipient check is under way. */
  checking: boolean;
}

declare global {
  interface HTMLElementTagNameMap {
    'smime-compose-controls': SmimeComposeControls;
  }
  interface GlobalEventHandlersEventMap {
    'smime-compose-change': CustomEvent<ComposeState>;
  }
}

/** Wait this long after the last recipient change before asking the server (typing an address changes it often). */
const RESOLVE_DEBOUNCE_MS = 250;

/**
 * Sign and Encrypt toggles for the compose window. As the host reports recipients (`recipients`), it asks the backend
 * which have usable certificates and names, before sending, everyone who lacks one; Encrypt cannot be sent while
 * anyone does. Turning Sign on while the keys are locked asks for unlock.
 *
 * @fires smime-compose-change - the state changed (detail: sign, encrypt, protectHeaders, missing, canSend, checking)
 * @fires smime-unlock-request - Sign was turned on while the keys are locked
 * @csspart controls - the row of toggles
 * @csspart toggle - each toggle button (also `toggle-sign`, `toggle-encrypt`, `toggle-protect-headers`)
 * @csspart recipients - the per-recipient certificate list
 * @csspart summary - the line saying what will happen, or why it cannot be sent
 */
@customElement('smime-compose-controls')
export class SmimeComposeControls extends LitElement {
  static override styles = styles;

  @property({ attribute: false }) accessor client: SmimeApiClient | undefined;
  /** The message's To, Cc and Bcc addresses, set by the host as they change. */
  @property({ attribute: false }) accessor recipients: string[] = [];
  @property({ type: Boolean, reflect: true }) accessor sign = false;
  @property({ type: Boolean, reflect: true }) accessor encrypt = false;
  /** Header protection (RFC 9788); the attribute is `protect-headers`. */
  @property({ type: Boolean, reflect: true, attribute: 'protect-headers' }) accessor protectHeaders = false;

  @state() private accessor resolutions: Resolution[] = [];
  @state() private accessor checking = false;
  @state() private accessor resolveError = false;
  @state() private accessor signLocked = false;
  /** The user has no key at all: Sign and Encrypt cannot work, and unlocking is never asked for (issue 15). */
  @state() private accessor noKey = false;

  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  get state(): ComposeState {
    const missing = this.resolutions.filter((r) => !r.ready).map((r) => r.email);
    return {
      sign: this.sign,
      encrypt: this.encrypt,
      protectHeaders: this.protectHeaders,
      missing,
      checking: this.checking,
      canSend: !this.encrypt || (!this.checking && !this.resolveError && missing.length === 0),
    };
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('recipients') || changed.has('client')) this.scheduleResolve();
    if (changed.has('client') && this.client)
      void this.client.me().then(
        (me) => {
          this.noKey = me.keys === 0;
          if (this.noKey) {
            this.sign = false;
            this.encrypt = false;
            this.protectHeaders = false;
          }
        },
        () => {},
      );
    // Signing by default with locked keys: say so before the user presses Send (the prompt opens at Send).
    if (changed.has('client') && this.client && this.sign)
      void this.client.session().then(
        (s) => (this.signLocked = this.sign && !s.unlocked && !this.noKey),
        () => {},
      );
  }

  protected override updated(changed: PropertyValues<this>): void {
    const c = changed as Map<string, unknown>;
    if (c.has('sign') || c.has('encrypt') || c.has('protectHeaders') || c.has('resolutions') || c.has('checking'))
      emit(this, 'smime-compose-change', this.state);
  }

  private scheduleResolve(): void {
    clearTimeout(this.timer);
    const emails = [...new Set(this.recipients.map((e) => e.trim().toLowerCase()).filter(Boolean))];
    if (emails.length === 0 || !this.client) {
      this.resolutions = [];
      this.checking = false;
      return;
    }
    this.checking = true;
    this.timer = setTimeout(() => void this.resolveNow(emails), RESOLVE_DEBOUNCE_MS);
  }

  /** Ask the server now (also used by the plugin right before sending). */
  async resolveNow(emails = this.recipients): Promise<ComposeState> {
    const gen = ++this.generation;
    this.checking = true;
    try {
      const r = emails.length && this.client ? await this.client.resolve(emails) : [];
      if (gen !== this.generation) return this.state; // a newer recipient list is being resolved
      this.resolutions = r;
      this.resolveError = false;
    } catch {
      if (gen === this.generation) this.resolveError = true;
    } finally {
      if (gen === this.generation) this.checking = false;
    }
    return this.state;
  }

  private async toggleSign(): Promise<void> {
    this.sign = !this.sign;
    if (!this.sign || !this.client) {
      this.signLocked = false;
      return;
    }
    try {
      const s = await this.client.session();
      this.signLocked = !s.unlocked;
      if (!s.unlocked) emit(this, 'smime-unlock-request', { reason: 'sign' });
    } catch {
      /* the send itself reports LOCKED */
    }
  }

  /** The host (or the plugin) tells the control that the keys were unlocked. */
  keysUnlocked(): void {
    this.signLocked = false;
  }

  private toggle(which: 'sign' | 'encrypt' | 'protectHeaders', label: string, help: string) {
    const on = this[which];
    const flip = () => {
      if (which === 'sign') void this.toggleSign();
      else if (which === 'encrypt') this.encrypt = !this.encrypt;
      else this.protectHeaders = !this.protectHeaders;
    };
    return html`<button
      type="button"
      role="switch"
      part="toggle toggle-${which === 'protectHeaders' ? 'protect-headers' : which}"
      aria-checked=${on ? 'true' : 'false'}
      title=${help}
      aria-describedby="summary"
      ?disabled=${this.noKey || (which === 'protectHeaders' && !this.sign && !this.encrypt)}
      @click=${flip}
    >
      <span class="box" aria-hidden="true">${on ? '✓' : ''}</span>${label}
    </button>`;
  }

  private summary() {
    const m = msg();
    const st = this.state;
    if (this.noKey)
      return html`<p part="summary" id="summary" class="tone-info" role="status">
        ${icon('info')}<span>${m.composeNoKey}</span>
      </p>`;
    if (this.encrypt && st.missing.length > 0)
      return html`<p part="summary" id="summary" class="tone-bad" role="alert">
        ${icon('bad')}<span>${m.encryptBlocked(st.missing)}</span>
      </p>`;
    if (this.encrypt && this.resolveError)
      return html`<p part="summary" id="summary" class="tone-bad" role="alert">
        ${icon('bad')}<span>${m.resolveFailed}</span>
      </p>`;
    if (this.sign && this.signLocked)
      return html`<p part="summary" id="summary" class="tone-info" role="status">
        ${icon('lock')}<span>${m.signNeedsUnlock}</span>
      </p>`;
    if (this.encrypt && this.recipients.length === 0)
      return html`<p part="summary" id="summary" class="tone-info" role="status">
        ${icon('info')}<span>${m.noRecipients}</span>
      </p>`;
    return html`<p part="summary" id="summary" role="status">
      ${this.checking && this.encrypt ? m.checkingRecipients : m.readyToSend(this.sign, this.encrypt)}
    </p>`;
  }

  override render() {
    const m = msg();
    const showList = this.resolutions.length > 0 && (this.encrypt || this.resolutions.some((r) => !r.ready));
    return html`<div part="controls" role="group" aria-label=${m.composeLabel}>
        ${this.toggle('sign', m.sign, m.signHelp)} ${this.toggle('encrypt', m.encrypt, m.encryptHelp)}
        ${this.toggle('protectHeaders', m.protectHeaders, m.protectHeadersHelp)}
      </div>
      ${
        showList
          ? html`<ul part="recipients" aria-label=${m.composeLabel}>
              ${this.resolutions.map(
                (r) =>
                  html`<li
                    class=${r.ready ? 'tone-ok' : 'tone-warn'}
                    data-email=${r.email}
                    data-ready=${String(r.ready)}
                  >
                    ${icon(r.ready ? 'ok' : 'warn')}<span
                      >${r.ready ? m.recipientReady(r.email) : m.recipientMissing(r.email)}</span
                    >
                    ${!r.ready && r.reasons.length ? html`<span class="reasons">(${r.reasons.join('; ')})</span>` : nothing}
                    ${r.ready && r.warnings?.length ? html`<span class="reasons" part="warnings">(${r.warnings.join('; ')})</span>` : nothing}
                  </li>`,
              )}
            </ul>`
          : nothing
      }
      ${this.summary()}`;
  }
}
