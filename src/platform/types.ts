/**
 * What only the host environment can do. `electron/` implements it for the desktop
 * (safeStorage, dialogs, printToPDF, shell.openExternal); `src/platform/node.ts` implements
 * it for the CLI, the browser carrier and tests.
 */
export interface SecretBox {
  /** Human-readable name of where the key lives, shown in Settings (e.g. "OS keychain"). */
  readonly backend: string;
  seal(plaintext: string): Promise<Buffer>;
  open(ciphertext: Buffer): Promise<string>;
}

export interface FileDialogOptions {
  title?: string;
  defaultPath?: string;
  filters?: { name: string; extensions: string[] }[];
}

export interface Platform {
  readonly kind: 'electron' | 'node';
  readonly secrets: SecretBox;
  /** Opens an https: URL in the user's browser. Anything else is refused. */
  openExternal(url: string): Promise<void>;
  chooseFileToOpen(options: FileDialogOptions): Promise<string | null>;
  chooseFileToSave(options: FileDialogOptions): Promise<string | null>;
  /** Renders a self-contained HTML document to PDF bytes. */
  printToPdf(html: string): Promise<Buffer>;
  /**
   * Shows an OS notification; resolves false when the OS cannot show one. Absent where the
   * platform has none (Node: the core hands notifications to the connected browser instead).
   */
  notify?(notification: { title: string; body: string; tone: 'ok' | 'danger' | 'warn' }): Promise<boolean>;
}

/** Only https: links leave the app, and only well-formed ones. */
export function assertExternalUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('Refusing to open a malformed link.');
  }
  if (parsed.protocol !== 'https:')
    throw new Error(`Refusing to open a ${parsed.protocol} link; only https: links open.`);
  return parsed;
}
