/**
 * The progress bar of `smime-admin sync-directory` on a terminal: entries read, against the last full count. Also
 * that of `import-p12 --dir/--csv` (files done against files listed), which passes its own label.
 */
import type { SyncProgress } from './report.ts';

/** Redraw at most this often: a terminal write per page of a fast sync would cost more than the page. */
const REDRAW_MS = 100;
const WIDTH = 30;

export function progressBar(
  out: NodeJS.WriteStream,
  labelOf: (p: SyncProgress) => string = (p) => (p.phase === 'removing' ? 'removing what is gone' : 'reading entries'),
): { update(p: SyncProgress): void; clear(): void } {
  let last = 0;
  const draw = (p: SyncProgress) => {
    const label = labelOf(p);
    let line: string;
    if (p.expected && p.expected > 0) {
      const ratio = Math.min(1, p.entriesSeen / p.expected);
      const filled = Math.round(ratio * WIDTH);
      line = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${p.entriesSeen}/~${p.expected} ${label}`;
    } else {
      line = `${p.entriesSeen} ${label}`;
    }
    out.write(`\r\x1b[K${line}`);
  };
  return {
    update(p) {
      const now = Date.now();
      if (p.phase === 'reading' && now - last < REDRAW_MS) return;
      last = now;
      draw(p);
    },
    clear() {
      out.write('\r\x1b[K');
    },
  };
}
