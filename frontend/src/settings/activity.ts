import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { isApiError, type SmimeApiClient } from '../api/client.ts';
import type { AuditEntryView } from '../api/types.ts';
import { msg, type ActivityDetails } from '../messages.ts';
import { icon } from '../shared/icons.ts';
import { styles } from './activity.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'smime-activity': SmimeActivity;
  }
}

/** Entries shown before "Show more": a long trail (every unlock is an entry) would bury the recent ones. */
export const ACTIVITY_PAGE_SIZE = 50;

/** Actions that change who can read the user's mail without them doing it: shown in the warning tone (issue 17). */
const STANDS_OUT = new Set(['key.recovered', 'key.replaced']);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The facts a sentence may name. Details come from the server as JSON: each one is checked for its type here. */
function factsOf(e: AuditEntryView): ActivityDetails {
  const d = e.details ?? {};
  const fingerprint = str(d.fingerprint) || strings(d.fingerprints)[0] || '';
  const keyIds = strings(d.keyIds);
  return {
    fp: msg().fingerprintPrefix(fingerprint),
    subject: str(d.subject),
    email: str(d.email),
    alias: str(d.alias),
    certificate: str(d.recoveryCertificate),
    custodians: strings(d.custodians),
    count: keyIds.length || (str(d.keyId) ? 1 : 0),
    failures: typeof d.failures === 'number' ? d.failures : 0,
    all: d.all === true,
  };
}

/**
 * The user's own activity (issue 17): their audit trail from GET /api/v1/me/audit, newest first, one plain sentence
 * per entry, so a user learns when IT placed a key, when a recovery copy of their key is held, and above all when
 * their keys were recovered. Every value from the server is rendered through Lit text bindings, never as markup.
 *
 * @csspart section - the section
 * @csspart activity - the activity table
 * @csspart message - the error line
 */
@customElement('smime-activity')
export class SmimeActivity extends LitElement {
  static override styles = styles;

  @property({ attribute: false }) accessor client: SmimeApiClient | undefined;

  @state() private accessor entries: AuditEntryView[] | undefined;
  @state() private accessor error: string | undefined;
  @state() private accessor showAll = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.reload();
  }

  /** Fetch the trail again (the settings pane calls this after each change it makes). */
  async reload(): Promise<void> {
    if (!this.client) return;
    try {
      const entries = await this.client.activity();
      this.entries = [...entries].sort((a, b) => b.seq - a.seq);
      this.error = undefined;
    } catch (e) {
      const m = msg();
      this.error = m.activityFailed(isApiError(e) ? e.message : e instanceof Error ? e.message : String(e));
    }
  }

  private who(actor: string): string {
    const m = msg();
    if (actor.startsWith('user:')) return m.actorYou;
    if (actor.startsWith('admin:')) return m.actorAdmin;
    if (actor === 'system') return m.actorSystem;
    if (actor.startsWith('recovery') || actor.startsWith('custodian')) return m.actorCustodians;
    return actor;
  }

  private what(e: AuditEntryView): string {
    const sentence = msg().auditActions[e.action];
    // An action this version does not know (a newer backend): its name, as the server sent it.
    return sentence ? sentence(factsOf(e)) : e.action;
  }

  private renderTable(entries: AuditEntryView[]) {
    const m = msg();
    const shown = this.showAll ? entries : entries.slice(0, ACTIVITY_PAGE_SIZE);
    const rest = entries.length - shown.length;
    return html`<table part="activity">
        <caption class="visually-hidden">
          ${m.activity}
        </caption>
        <thead>
          <tr>
            <th scope="col">${m.activityWhen}</th>
            <th scope="col">${m.activityWho}</th>
            <th scope="col">${m.activityWhat}</th>
          </tr>
        </thead>
        <tbody>
          ${shown.map((e) => {
            const warn = STANDS_OUT.has(e.action);
            return html`<tr data-seq=${e.seq} data-action=${e.action} class=${warn ? 'stands-out' : ''}>
              <td><time datetime=${e.at}>${new Date(e.at).toLocaleString()}</time></td>
              <td>${this.who(e.actor)}</td>
              <td>${warn ? icon('warn') : nothing}${this.what(e)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
      ${
        rest > 0
          ? html`<div class="actions">
              <button type="button" data-action="show-more" @click=${() => (this.showAll = true)}>
                ${m.activityShowMore(rest)}
              </button>
            </div>`
          : nothing
      }`;
  }

  override render() {
    const m = msg();
    let body;
    if (this.error && !this.entries) body = nothing;
    else if (!this.entries) body = html`<p>${m.loading}</p>`;
    else if (this.entries.length === 0) body = html`<p>${m.activityEmpty}</p>`;
    else body = this.renderTable(this.entries);
    return html`<section part="section" aria-labelledby="h-activity">
      <h3 id="h-activity">${m.activity}</h3>
      <p class="muted">${m.activityHelp}</p>
      ${body} ${this.error ? html`<div part="message" class="error" role="alert">${this.error}</div>` : nothing}
    </section>`;
  }
}
