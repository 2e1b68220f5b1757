import { html, LitElement, nothing, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type {
  EncryptedLayer,
  HeaderProtection,
  IncomingAnalysis,
  Layer,
  SignatureInfo,
  SignedLayer,
} from '../api/types.ts';
import { msg, statusText } from '../messages.ts';
import { emit } from '../shared/events.ts';
import { icon } from '../shared/icons.ts';
import { styles } from './message-status.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'smime-message-status': SmimeMessageStatus;
  }
}

/**
 * The banner on a read message: one line per S/MIME layer, outer first (signed by whom and verified or why not;
 * encrypted and decrypted or why not), each as colour + icon + text, with a details panel that explains the cause
 * and what to do, every check's outcome, and the signer's certificate.
 *
 * @fires smime-unlock-request - the reader pressed "Unlock to read" on a message encrypted to a locked key
 * @csspart banner - the whole banner
 * @csspart layer - one layer's line (also `layer-ok`, `layer-info`, `layer-warn`, `layer-bad` by tone)
 * @csspart icon - a status icon
 * @csspart details - a layer's details panel
 * @csspart unlock - the "Unlock to read" button
 * @csspart protected-headers - the line of protected header fields (RFC 9788), when the message has them
 * @csspart header-mismatch - an outer header field that is not what the sender protected
 */
@customElement('smime-message-status')
export class SmimeMessageStatus extends LitElement {
  static override styles = styles;

  /** The answer of POST /api/v1/messages/incoming. */
  @property({ attribute: false }) accessor analysis: IncomingAnalysis | undefined;
  /** Shown instead of the layers while the analysis runs. */
  @property({ type: Boolean }) accessor busy = false;

  private signerName(sig: SignatureInfo): string {
    const s = sig.signer;
    if (!s) return msg().unknownSigner;
    const cn = /(?:^|,\s*)CN=([^,]+)/.exec(s.subject)?.[1];
    const email = s.emails[0];
    return cn && email ? `${cn} <${email}>` : (email ?? cn ?? s.subject);
  }

  private renderCertificate(sig: SignatureInfo): TemplateResult | typeof nothing {
    const m = msg();
    const s = sig.signer;
    if (!s) return nothing;
    const date = (d: string) => new Date(d).toLocaleString();
    return html`<h4>${m.signerCertificate}</h4>
      <dl>
        <dt>${m.subject}</dt>
        <dd>${s.subject}</dd>
        <dt>${m.emails}</dt>
        <dd>${s.emails.join(', ')}</dd>
        <dt>${m.issuer}</dt>
        <dd>${s.issuer}</dd>
        <dt>${m.serialNumber}</dt>
        <dd>${s.serialNumber}</dd>
        <dt>${m.validFrom}</dt>
        <dd>${date(s.notBefore)}</dd>
        <dt>${m.validTo}</dt>
        <dd>${date(s.notAfter)}</dd>
        <dt>${m.fingerprint}</dt>
        <dd><code>${s.fingerprintSha256}</code></dd>
        ${
          sig.signingTime
            ? html`<dt>${m.signingTime}</dt>
                <dd>${date(sig.signingTime)}</dd>`
            : nothing
        }
        ${
          sig.digestAlgorithm || sig.signatureAlgorithm
            ? html`<dt>${m.algorithms}</dt>
                <dd>${[sig.digestAlgorithm, sig.signatureAlgorithm].filter(Boolean).join(', ')}</dd>`
            : nothing
        }
        ${
          sig.chain.length
            ? html`<dt>${m.chain}</dt>
                <dd>${sig.chain.map((c) => c.subject).join(' → ')}</dd>`
            : nothing
        }
      </dl>`;
  }

  private renderExplanation(status: string, extra: TemplateResult | typeof nothing = nothing) {
    const m = msg();
    const t = statusText(status);
    return html`<details part="details">
      <summary>${m.details}</summary>
      <dl>
        <dt>${m.cause}</dt>
        <dd>${t.cause}</dd>
        <dt>${m.whatToDo}</dt>
        <dd>${t.action}</dd>
      </dl>
      ${extra}
    </details>`;
  }

  private renderSignature(layer: SignedLayer, sig: SignatureInfo) {
    const m = msg();
    const t = statusText(sig.status);
    const checks = html`<h4>${m.checks}</h4>
      <ul class="checks">
        ${sig.checks.map(
          (c) =>
            html`<li class="check-${c.outcome}">
              ${c.name}: ${m.checkOutcome[c.outcome] ?? c.outcome}${c.detail ? ` (${c.detail})` : ''}
            </li>`,
        )}
      </ul>
      ${this.renderCertificate(sig)}`;
    return html`<div part="layer layer-${t.tone}" class="tone-${t.tone}" data-kind="signed" data-status=${sig.status}>
      <span part="icon">${icon(t.tone)}</span>
      <div class="line">
        <div class="title">${t.title}</div>
        <div class="who">${m.signedBy(this.signerName(sig))} · ${layer.format}</div>
        ${(sig.warnings ?? []).map((w) => html`<div part="warning" class="warning" role="note">${icon('warn')} ${w}</div>`)}
        ${this.renderExplanation(sig.status, checks)}
      </div>
    </div>`;
  }

  private renderEncrypted(layer: EncryptedLayer) {
    const m = msg();
    const t = statusText(layer.status);
    const extra =
      layer.contentCipher || layer.detail
        ? html`<dl>
            ${
              layer.contentCipher
                ? html`<dt>${m.cipher}</dt>
                    <dd>${layer.contentCipher}</dd>`
                : nothing
            }
            ${
              layer.detail
                ? html`<dt>${m.details}</dt>
                    <dd>${layer.detail}</dd>`
                : nothing
            }
          </dl>`
        : nothing;
    return html`<div
      part="layer layer-${t.tone}"
      class="tone-${t.tone}"
      data-kind="encrypted"
      data-status=${layer.status}
    >
      <span part="icon">${icon(layer.status === 'locked' ? 'lock' : t.tone)}</span>
      <div class="line">
        <div class="title">${t.title}</div>
        ${
          layer.status === 'locked'
            ? html`<button
                part="unlock"
                class="primary"
                type="button"
                @click=${() => emit(this, 'smime-unlock-request', { reason: 'decrypt' })}
              >
                ${m.unlockToRead}
              </button>`
            : nothing
        }
        ${this.renderExplanation(layer.status, extra)}
      </div>
    </div>`;
  }

  /**
   * Header protection (RFC 9788): the fields the sender protected, shown in place of the message's own (which the
   * host displays), and every outer field that is not what was protected, named as a warning.
   */
  private renderHeaderProtection(hp: HeaderProtection) {
    const m = msg();
    const shown = ['Subject', 'From', 'To', 'Cc', 'Reply-To', 'Date'];
    const fields = shown.flatMap((name) => {
      const f = hp.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
      return f ? [{ name, value: f.value }] : [];
    });
    const tone = hp.mismatches.length ? 'warn' : 'ok';
    return html`<div
      part="layer layer-${tone} protected-headers"
      class="tone-${tone}"
      data-kind="headers"
      data-mode=${hp.mode}
    >
      <span part="icon">${icon(tone)}</span>
      <div class="line">
        <div class="title">${hp.mode === 'cipher' ? m.headersEncrypted : m.headersSigned}</div>
        <dl class="fields">
          ${fields.map(
            (f) =>
              html`<dt>${f.name}</dt>
                <dd data-field=${f.name.toLowerCase()}>${f.value}</dd>`,
          )}
        </dl>
        ${hp.mismatches.map(
          (x) =>
            html`<div part="warning header-mismatch" class="warning" role="alert" data-field=${x.field}>
              ${icon('warn')} ${m.headerMismatch(x.field, x.outer, x.expected)}
            </div>`,
        )}
      </div>
    </div>`;
  }

  private renderLayer(layer: Layer) {
    if (layer.kind === 'signed') {
      // A layer without any signature (malformed) still gets its line.
      if (layer.signatures.length === 0)
        return this.renderSignature(layer, { status: layer.status, chain: [], checks: [] });
      return layer.signatures.map((s) => this.renderSignature(layer, s));
    }
    return this.renderEncrypted(layer);
  }

  override render() {
    const m = msg();
    if (this.busy)
      return html`<div part="banner" role="status"><div part="layer" class="tone-info">${m.analysing}</div></div>`;
    const a = this.analysis;
    if (!a) return nothing;
    const harvested = a.harvested.filter((h) => h.outcome === 'added' || h.outcome === 'replaced');
    return html`<section part="banner" role="status" aria-label=${m.statusLabel}>
      ${
        a.layers.length === 0
          ? html`<div part="layer layer-info" class="tone-info" data-kind="none">
              <span part="icon">${icon('info')}</span>
              <div class="line">${m.notProtected}</div>
            </div>`
          : a.layers.map((l) => this.renderLayer(l))
      }
      ${a.headerProtection ? this.renderHeaderProtection(a.headerProtection) : nothing}
      ${harvested.map(
        (h) =>
          html`<div class="note">
            ${h.outcome === 'added' ? m.harvestedAdded(h.email) : m.harvestedReplaced(h.email)}
          </div>`,
      )}
      ${a.parts.length ? html`<div class="note">${m.partsNote(a.parts.length)}</div>` : nothing}
    </section>`;
  }
}
