/** Status icons: every status is shown as colour + icon + text, never colour alone (WCAG 1.4.1). */
import { svg, type SVGTemplateResult } from 'lit';
import type { Tone } from '../messages.ts';

const paths: Record<Tone | 'lock' | 'unlock', SVGTemplateResult> = {
  ok: svg`<path d="M6 12.5l4 4 8-9" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/>`,
  info: svg`<circle cx="12" cy="8" r="1.5" fill="currentColor"/><path d="M12 11.5v6" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>`,
  warn: svg`<path d="M12 6v7" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/><circle cx="12" cy="17" r="1.5" fill="currentColor"/>`,
  bad: svg`<path d="M7 7l10 10M17 7L7 17" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/>`,
  lock: svg`<rect x="6" y="11" width="12" height="9" rx="1.5" fill="currentColor"/><path d="M8.5 11V8a3.5 3.5 0 017 0v3" fill="none" stroke="currentColor" stroke-width="2"/>`,
  unlock: svg`<rect x="6" y="11" width="12" height="9" rx="1.5" fill="currentColor"/><path d="M8.5 11V8a3.5 3.5 0 016.8-1.2" fill="none" stroke="currentColor" stroke-width="2"/>`,
};

export function icon(name: keyof typeof paths): SVGTemplateResult {
  return svg`<svg viewBox="0 0 24 24" width="1.2em" height="1.2em" aria-hidden="true" focusable="false">${paths[name]}</svg>`;
}
