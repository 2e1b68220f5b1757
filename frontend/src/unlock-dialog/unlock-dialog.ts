import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isApiError, type SmimeApiClient } from '../api/client.ts';
import type { SessionStatus, UnlockResult } from '../api/types.ts';
import { msg } from '../messages.ts';
import { emit, type UnlockRequestDetail } from '../shared/events.ts';
import { icon } from '../shared/icons.ts';
import { styles } from './unlock-dialog.styles.ts';

export interface UnlockedDetail {
  unlockedKeyIds: string[];
  expiresAt: string;
}

declare global {
  interface HTMLElementTagNameMap {
    'smime-unlock-dialog': SmimeUnlockDialog;
  }
  interface GlobalEventHandlersEventMap {
    'smime-unlocked': CustomEvent<UnlockedDetail>;
    'smime-locked': CustomEvent<Record<string, never>>;
    'smime-unlock-cancel': CustomEvent<Record<string, never>>;
    'smime-passphrase-changed': CustomEvent<Record<string, never>>;
  }
}

type Step = 'passphrase' | 'choose';

/**
 * The user's key state and the passphrase prompt. Renders a lock/unlock button (put it in the host's toolbar); the
 * modal dialog opens from it, from `open()`, or when the plugin forwards a `smime-unlock-request`. Shows the idle
 * timeout, wrong-passphrase and throttle messages, and for keys IT placed, a forced "choose your own passphrase" step.
 *
 * @fires smime-unlocked - keys were unlocked (detail: unlockedKeyIds, expiresAt)
 * @fires smime-locked - the user locked their keys
 * @fires smime-unlock-cancel - the dialog was closed without unlocking
 * @fires smime-passphrase-changed - the forced passphrase step saved a new passphrase
 * @csspart toggle - the lock/unlock button
 * @csspart dialog - the modal dialog
 * @csspart input - the passphrase fields
 * @csspart submit - the dialog's main button
 * @csspart error - the error message
 */
@customElement('smime-unlock-dialog')
export class SmimeUnlockDialog extends LitElement {
  static override styles = styles;

  /** The API client (the plugin sets it). */
  @property({ attribute: false }) accessor client: SmimeApiClient | undefined;
  /** Hide the toolbar button and use the dialog only. */
  @property({ type: Boolean, attribute: 'dialog-only' }) accessor dialogOnly = false;

  @state() accessor session: SessionStatus | undefined;
  @state() private accessor step: Step = 'passphrase';
  @state() private accessor busy = false;
  @state() private accessor error = '';
  @state() private accessor minLength = 10;
  @state() private accessor reason: UnlockRequestDetail['reason'] | undefined;
  /** The user has no key at all (GET /me): the toggle says so instead of offering to unlock (issue 15). */
  @state() private accessor noKey = false;

  private get dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector('dialog');
  }
  private get passInput(): HTMLInputElement | null {
    return this.renderRoot.querySelector('#passphrase');
  }

  private currentPassphrase = '';
  private waiters: ((ok: boolean) => void)[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
  }

  /** Re-read the session state from the server. */
  async refresh(): Promise<SessionStatus | undefined> {
    if (!this.client) return undefined;
    try {
      const [session, me] = await Promise.all([this.client.session(), this.client.me()]);
      this.session = session;
      this.noKey = me.keys === 0;
    } catch {
      this.session = undefined;
    }
    return this.session;
  }

  /** Open the prompt; resolves true once unlocked, false when cancelled. */
  open(reason?: UnlockRequestDetail['reason']): Promise<boolean> {
    this.reason = reason;
    this.step = 'passphrase';
    this.error = '';
    const done = new Promise<boolean>((resolve) => this.waiters.push(resolve));
    void this.updateComplete.then(() => {
      if (this.dialog && !this.dialog.open) this.dialog.showModal();
      this.passInput?.focus();
    });
    void this.client?.me().then(
      (me) => (this.minLength = me.passphraseMinLength),
      () => {},
    );
    return done;
  }

  /** Lock the keys of this browser session. */
  async lock(): Promise<void> {
    if (!this.client) return;
    await this.client.lock();
    await this.refresh();
    emit(this, 'smime-locked', {});
  }

  private finish(ok: boolean): void {
    if (this.dialog?.open) this.dialog.close();
    this.currentPassphrase = '';
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r(ok);
    if (!ok) emit(this, 'smime-unlock-cancel', {});
  }

  private errorText(e: unknown): string {
    const m = msg();
    if (isApiError(e, 'WRONG_PASSPHRASE')) return m.wrongPassphrase(Number(e.details.failures ?? 1));
    if (isApiError(e, 'THROTTLED')) return m.throttled(Number(e.details.retryAfterSeconds ?? 1));
    if (isApiError(e, 'KEYS_LEFT_UNDER_OLD_PASSPHRASE'))
      return m.keysLeftBehind(Array.isArray(e.details.keyIds) ? e.details.keyIds.length : 1);
    if (isApiError(e, 'NO_KEYS')) return m.noKeys;
    if (isApiError(e, 'PASSPHRASE_TOO_WEAK'))
      return m.passphraseTooShort(Number(e.details.minLength ?? this.minLength));
    return m.genericError(e instanceof Error ? e.message : String(e));
  }

  private async submitPassphrase(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    if (!this.client || this.busy) return;
    const form = ev.target as HTMLFormElement;
    const passphrase = (form.elements.namedItem('passphrase') as HTMLInputElement).value;
    this.busy = true;
    this.error = '';
    try {
      const r: UnlockResult = await this.client.unlock(passphrase);
      if (r.mustChangePassphrase) {
        this.currentPassphrase = passphrase;
        this.step = 'choose';
        await this.updateComplete;
        (this.renderRoot.querySelector('#new') as HTMLInputElement | null)?.focus();
        return;
      }
      await this.refresh();
      emit(this, 'smime-unlocked', { unlockedKeyIds: r.unlockedKeyIds, expiresAt: r.expiresAt });
      this.finish(true);
    } catch (e) {
      this.error = this.errorText(e);
      form.reset();
      this.passInput?.focus();
    } finally {
      this.busy = false;
    }
  }

  private async submitNew(ev: SubmitEvent): Promise<void> {
    ev.preventDefault();
    if (!this.client || this.busy) return;
    const form = ev.target as HTMLFormElement;
    const next = (form.elements.namedItem('new') as HTMLInputElement).value;
    const again = (form.elements.namedItem('again') as HTMLInputElement).value;
    const m = msg();
    if (next !== again) {
      this.error = m.passphraseMismatch;
      return;
    }
    if ([...next].length < this.minLength) {
      this.error = m.passphraseTooShort(this.minLength);
      return;
    }
    this.busy = true;
    this.error = '';
    try {
      await this.client.changePassphrase(this.currentPassphrase, next);
      emit(this, 'smime-passphrase-changed', {});
      // The keys are now the user's own: a fresh unlock under the new passphrase.
      const r = await this.client.unlock(next);
      await this.refresh();
      if (!r.unlocked) {
        // The change did not take over every key IT placed (a second one with another passphrase): say so.
        this.error = m.genericError(m.mustChangeIntro);
        return;
      }
      emit(this, 'smime-unlocked', { unlockedKeyIds: r.unlockedKeyIds, expiresAt: r.expiresAt });
      this.finish(true);
    } catch (e) {
      this.error = this.errorText(e);
    } finally {
      this.busy = false;
    }
  }

  private renderToggle() {
    const m = msg();
    if (this.dialogOnly) return nothing;
    // Without any key there is nothing to unlock: say so, never ask for a passphrase the user does not have.
    if (this.noKey)
      return html`<span part="toggle no-key" role="note" title=${m.noKeyHelp} tabindex="0">
        ${icon('info')}<span>${m.noKeyShort}</span>
      </span>`;
    const unlocked = this.session?.unlocked ?? false;
    const until = this.session?.idleExpiresAt ? new Date(this.session.idleExpiresAt).toLocaleTimeString() : '';
    return html`<button
      part="toggle"
      type="button"
      aria-label=${unlocked ? `${m.unlockedUntil(until)}. ${m.lock}` : `${m.locked}. ${m.unlock}`}
      @click=${() => (unlocked ? void this.lock() : void this.open())}
    >
      ${icon(unlocked ? 'unlock' : 'lock')}<span>${unlocked ? m.lock : m.unlock}</span>
    </button>`;
  }

  override render() {
    const m = msg();
    const idleMinutes = Math.round((this.session?.idleTimeoutS ?? 900) / 60);
    return html`${this.renderToggle()}
      <dialog part="dialog" aria-labelledby="title" @cancel=${() => this.finish(false)}>
        ${
          this.step === 'passphrase'
            ? html`<form @submit=${this.submitPassphrase} novalidate>
                <h2 id="title">${m.unlockTitle}</h2>
                <p>${this.reason === 'sign' ? m.signNeedsUnlock : m.unlockIntro}</p>
                <p class="muted">${m.idleTimeout(idleMinutes)}</p>
                <label for="passphrase">${m.passphrase}</label>
                <input
                  id="passphrase"
                  name="passphrase"
                  part="input"
                  type="password"
                  autocomplete="current-password"
                  required
                  aria-invalid=${this.error ? 'true' : 'false'}
                  aria-describedby="error"
                />
                <div id="error" part="error" role="alert" class="error">${this.error}</div>
                <div class="buttons">
                  <button type="button" @click=${() => this.finish(false)}>${m.cancel}</button>
                  <button part="submit" class="primary" type="submit" ?disabled=${this.busy}>
                    ${this.busy ? m.unlocking : m.unlock}
                  </button>
                </div>
              </form>`
            : html`<form @submit=${this.submitNew} novalidate>
                <h2 id="title">${m.mustChangeTitle}</h2>
                <p>${m.mustChangeIntro}</p>
                <p class="muted">${m.passphraseTooShort(this.minLength)}</p>
                <label for="new">${m.newPassphrase}</label>
                <input id="new" name="new" part="input" type="password" autocomplete="new-password" required />
                <label for="again">${m.confirmPassphrase}</label>
                <input id="again" name="again" part="input" type="password" autocomplete="new-password" required />
                <div id="error" part="error" role="alert" class="error">${this.error}</div>
                <div class="buttons">
                  <button type="button" @click=${() => this.finish(false)}>${m.cancel}</button>
                  <button part="submit" class="primary" type="submit" ?disabled=${this.busy}>
                    ${m.savePassphrase}
                  </button>
                </div>
              </form>`
        }
      </dialog>`;
  }
}
