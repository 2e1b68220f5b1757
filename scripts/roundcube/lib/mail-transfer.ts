/**
 * A small SMTP (RFC 5321) and LMTP (RFC 2033) client over node:net, enough for the stack: deliver a message straight
 * into Dovecot (LMTP), or submit one to Postfix with AUTH PLAIN (RFC 4954, RFC 4616) as a mail client would.
 * No TLS: everything runs on 127.0.0.1.
 */
import { connect, type Socket } from 'node:net';

/** Whole-transaction timeout: a local Dovecot or Postfix answers in milliseconds; a silent peer must not hang a test. */
export const MAIL_TRANSFER_TIMEOUT_MS = 30_000;

export type MailTransferErrorCode = 'MAIL_REJECTED' | 'MAIL_CONNECTION_FAILED' | 'MAIL_TIMEOUT';

export class MailTransferError extends Error {
  override name = 'MailTransferError';
  constructor(
    readonly code: MailTransferErrorCode,
    message: string,
    /** The step that failed (CONNECT, EHLO, AUTH, MAIL, RCPT <addr>, DATA, END) and the server's reply, if any. */
    readonly step: string,
    readonly reply?: { code: number; text: string },
  ) {
    super(message);
  }
}

interface Reply {
  code: number;
  text: string;
}

/** One connection: CRLF lines in, replies (multi-line "250-..." up to "250 ...") out. */
class Conversation {
  private buffer = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        this.lines.push(this.buffer.slice(0, i).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(i + 1);
      }
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.failure ??= e;
      this.wake?.();
    });
    socket.on('close', () => {
      this.failure ??= new Error('the server closed the connection');
      this.wake?.();
    });
  }

  private async line(step: string): Promise<string> {
    while (this.lines.length === 0) {
      if (this.failure) {
        const timeout = /timed out/.test(this.failure.message);
        throw new MailTransferError(
          timeout ? 'MAIL_TIMEOUT' : 'MAIL_CONNECTION_FAILED',
          `${step}: ${this.failure.message}`,
          step,
        );
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.lines.shift()!;
  }

  async reply(step: string, expect: number): Promise<Reply> {
    const text: string[] = [];
    for (;;) {
      const l = await this.line(step);
      text.push(l.slice(4));
      if (!/^\d{3}-/.test(l)) {
        const reply = { code: Number(l.slice(0, 3)), text: text.join('\n') };
        if (Math.floor(reply.code / 100) !== Math.floor(expect / 100))
          throw new MailTransferError('MAIL_REJECTED', `${step}: ${reply.code} ${reply.text}`, step, reply);
        return reply;
      }
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async command(line: string, step: string, expect: number): Promise<Reply> {
    this.send(`${line}\r\n`);
    return this.reply(step, expect);
  }
}

/**
 * The message as DATA carries it: every line ending CRLF (a bare LF becomes CRLF), lines starting with "." doubled
 * (RFC 5321 section 4.5.2), ending with the CRLF.CRLF terminator. Bytes pass through unchanged otherwise (latin1
 * maps each byte to one code unit and back).
 */
export function dataPayload(raw: Uint8Array | string): Buffer {
  let text =
    typeof raw === 'string' ? Buffer.from(raw, 'utf8').toString('latin1') : Buffer.from(raw).toString('latin1');
  text = text.replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/^\./gm, '..');
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

export interface Transfer {
  host: string;
  port: number;
  protocol: 'smtp' | 'lmtp';
  /** Envelope sender; '' is the null sender. */
  from: string;
  to: string[];
  raw: Uint8Array | string;
  /** SMTP AUTH PLAIN credentials (submission). */
  auth?: { user: string; password: string };
  timeoutMs?: number;
}

/** Run one mail transaction; resolves when the server accepted the message for every recipient. */
export async function transferMail(t: Transfer): Promise<void> {
  const socket = connect({ host: t.host, port: t.port });
  socket.setTimeout(t.timeoutMs ?? MAIL_TRANSFER_TIMEOUT_MS, () => socket.destroy(new Error('timed out')));
  const c = new Conversation(socket);
  try {
    await c.reply('CONNECT', 220);
    const hello = t.protocol === 'lmtp' ? 'LHLO' : 'EHLO';
    await c.command(`${hello} stack.localhost`, hello, 250);
    if (t.auth) {
      const plain = Buffer.from(`\0${t.auth.user}\0${t.auth.password}`, 'utf8').toString('base64');
      await c.command(`AUTH PLAIN ${plain}`, 'AUTH', 235);
    }
    await c.command(`MAIL FROM:<${t.from}>`, 'MAIL', 250);
    for (const rcpt of t.to) await c.command(`RCPT TO:<${rcpt}>`, `RCPT ${rcpt}`, 250);
    await c.command('DATA', 'DATA', 354);
    c.send(dataPayload(t.raw));
    // LMTP answers once per recipient (RFC 2033 section 4.2); SMTP once.
    const answers = t.protocol === 'lmtp' ? t.to.length : 1;
    for (let i = 0; i < answers; i++) await c.reply('END', 250);
    c.send('QUIT\r\n');
  } finally {
    socket.end();
    socket.destroy();
  }
}

/** Whether something answers with a greeting of `code` at host:port (readiness of Dovecot and Postfix). */
export async function greets(host: string, port: number, prefix: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let seen = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\n')) done(seen.startsWith(prefix));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
