/** Reading a secret from the terminal without echo, or one line from standard input when it is not a terminal. */
import { createInterface } from 'node:readline';

/**
 * Lines of a standard input that is not a terminal, read through one interface: a bulk import may ask several
 * passwords in a row, and a new interface per question would lose the lines the previous one had buffered.
 */
let pipedLines: AsyncIterator<string> | undefined;

export async function readSecret(prompt: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    pipedLines ??= createInterface({ input, terminal: false })[Symbol.asyncIterator]();
    const next = await pipedLines.next();
    if (next.done) throw new Error('no input on standard input');
    return next.value;
  }
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.resume();
  let value = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            input.off('data', onData);
            process.stderr.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            reject(new Error('interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
  }
}

/**
 * A new secret: typed twice and compared, so that a typing slip does not lock someone out of what it protects; `differ`
 * is the error when the two differ (a UsageError of the command asking).
 */
export async function readNewSecret(prompt: string, differ: () => Error): Promise<string> {
  const first = await readSecret(prompt);
  if ((await readSecret('Repeat it: ')) !== first) throw differ();
  return first;
}
