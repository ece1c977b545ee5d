import fs from 'node:fs';
import path from 'node:path';

/**
 * A small JSON-lines logger. Anything registered with `redact` is replaced by «redacted»
 * before a line is written, as a second line of defence: secrets are not supposed to reach
 * a log call in the first place.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  redact(secret: string): void;
  close(): void;
}

export function createLogger(options: { file?: string; console?: boolean } = {}): Logger {
  const secrets = new Set<string>();
  let fd: number | null = null;
  if (options.file) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    fd = fs.openSync(options.file, 'a', 0o600);
  }
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    let line = JSON.stringify({ at: new Date().toISOString(), level, message, ...fields });
    for (const secret of secrets) line = line.split(secret).join('«redacted»');
    if (fd !== null) fs.writeSync(fd, `${line}\n`);
    if (options.console) process.stderr.write(`${line}\n`);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    redact(secret) {
      if (secret.length >= 4) secrets.add(secret);
    },
    close() {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  redact: () => undefined,
  close: () => undefined,
};
