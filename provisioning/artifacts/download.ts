import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MillraceError } from '../../lib/errors';

/** Downloads url to file (via a .part file), naming the URL in any failure. */
export async function download(url: string, file: string, onProgress?: (bytes: number, total?: number) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (error) {
    throw new MillraceError(`cannot download ${url}: ${(error as Error).message}`, {
      hint: 'check the network, or point artifacts.* in the config at a mirror you can reach',
      retriable: true,
      cause: error,
    });
  }
  if (!res.ok || !res.body) throw new MillraceError(`cannot download ${url}: HTTP ${res.status}`, { hint: 'check the version and the mirror URL in the config' });
  const total = Number(res.headers.get('content-length')) || undefined;
  let seen = 0;
  const part = `${file}.part`;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => {
    seen += c.length;
    onProgress?.(seen, total);
  });
  await pipeline(body, fs.createWriteStream(part));
  fs.renameSync(part, file);
}

export async function fetchText(url: string, opts: { accept?: string } = {}): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, opts.accept ? { headers: { accept: opts.accept } } : undefined);
  } catch (error) {
    throw new MillraceError(`cannot fetch ${url}: ${(error as Error).message}`, { retriable: true, cause: error });
  }
  if (!res.ok) throw new MillraceError(`cannot fetch ${url}: HTTP ${res.status}`);
  return res.text();
}
