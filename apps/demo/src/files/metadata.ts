/** What the demo announces with each file stream (the stream helper's metadata), and reading it back safely. */
export interface FileMetadata {
  /** Ties a receiver's "stop sending me this" (file-cancel) to the transfer. */
  transferId: string;
  name: string;
  type: string;
}

export function fileMetadata(file: File, transferId: string): FileMetadata {
  return { transferId, name: file.name, type: file.type };
}

/** The announced metadata, cleaned up: a name without path parts, a type that is only a MIME type. */
export function readFileMetadata(metadata: Record<string, unknown> | undefined, fallbackId: string): FileMetadata {
  const name = typeof metadata?.name === 'string' ? metadata.name.replace(/[/\\]/g, '_').slice(0, 255) : '';
  const type = typeof metadata?.type === 'string' && /^[\w.+-]+\/[\w.+-]+$/.test(metadata.type) ? metadata.type : 'application/octet-stream';
  const transferId = typeof metadata?.transferId === 'string' ? metadata.transferId.slice(0, 64) : fallbackId;
  return { transferId, name: name || 'file', type };
}

/** A random id; crypto.getRandomValues also works where crypto.randomUUID does not (plain-http pages). */
export function newTransferId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}
