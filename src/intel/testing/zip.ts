/**
 * Test support: the entries of a zip (an advisory bundle, a portable bundle) read whole, in their
 * order, and a zip written from entries, for tests that look inside bundles or forge them.
 */
import yauzl from 'yauzl';
import yazl from 'yazl';

/** Every entry of the zip, name and bytes, in the order the zip holds them. */
export async function zipEntries(bytes: Buffer): Promise<[string, Buffer][]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
  const out: [string, Buffer][] = [];
  for await (const entry of zip.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const c of (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) chunks.push(c);
    out.push([entry.fileName, Buffer.concat(chunks)]);
  }
  return out;
}

/** A zip of these entries in this order, every one dated 1970 (so the same entries give the same bytes). */
export function zipOf(entries: Iterable<[string, Buffer]>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of entries) zip.addBuffer(bytes, name, { mtime: new Date(0) });
  zip.end();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
