/** The bytes of a file the core handed back as base64 (browser mode: exports it did not write). */
export function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** Starts a browser download of `data` under `name`, as the page's own link would. */
export function saveDownload(name: string, data: string | Uint8Array<ArrayBuffer>, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** What an export call answers: where the core wrote it, or (browser mode) its bytes as base64. */
export interface DeliveredExport {
  path: string | null;
  fileName: string;
  base64?: string | undefined;
}

/**
 * Finishes an export in the window: bytes handed back are downloaded here. Answers where the file
 * went: `saved` (the core wrote it to `made.path`), `downloaded`, or `cancelled` (the desktop's
 * save dialog was closed, nothing written).
 */
export function finishExport(made: DeliveredExport, type: string): 'saved' | 'downloaded' | 'cancelled' {
  if (made.base64 !== undefined) {
    saveDownload(made.fileName, fromBase64(made.base64), type);
    return 'downloaded';
  }
  return made.path === null ? 'cancelled' : 'saved';
}
