/**
 * Where receive-file saves what arrives. The name is chosen by the sender, so it is reduced to a plain
 * file name inside the output directory (no path parts, no `..`, no hidden or device-looking names), and an
 * existing file is never overwritten: the next free "name (1).ext" is taken instead.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { extname, join } from 'node:path';

const FALLBACK_NAME = 'received-file';
/** Room for " (999)" within the usual 255-byte limit of a file name. */
const MAX_NAME_BYTES = 240;

/** `announced` as a safe file name: its last path segment, without control or reserved characters. */
export function safeFileName(announced: string): string {
  const lastSegment = announced.split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment
    // eslint-disable-next-line no-control-regex -- control characters are what is being removed
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, '_')
    // Leading dots make hidden files (and '.', '..'); trailing dots and spaces vanish on Windows.
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  return truncateBytes(cleaned, MAX_NAME_BYTES) || FALLBACK_NAME;
}

/** Keeps the extension when cutting a long name to `maxBytes` of UTF-8. */
function truncateBytes(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const extension = extname(name).slice(0, 32);
  let stem = name.slice(0, name.length - extension.length);
  while (stem.length > 0 && Buffer.byteLength(stem + extension) > maxBytes) stem = [...stem].slice(0, -1).join('');
  return stem + extension;
}

/**
 * Creates a new file for `name` in `dir`, exclusively (`wx`), so that neither an existing file nor one
 * created meanwhile is overwritten: "report.pdf", then "report (1).pdf", "report (2).pdf"…
 */
export async function createUniqueFile(dir: string, name: string): Promise<{ path: string; handle: FileHandle }> {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let n = 0; n < 1000; n++) {
    const path = join(dir, n === 0 ? name : `${stem} (${n})${extension}`);
    try {
      return { path, handle: await open(path, 'wx') };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`no free file name for ${name} in ${dir}`);
}
