/**
 * The file metadata of the app message format (@backchannel/protocol, appMessages.ts) as the page uses it:
 * announced from a File, and read back with a name fit to show and to save.
 */
import { readFileMetadata as readAnnounced, type FileMetadata } from '@backchannel/protocol';

export function fileMetadata(file: File, transferId: string): FileMetadata {
  return { transferId, name: file.name, type: file.type };
}

/** The announced metadata, with a name without path parts, at most 255 characters, never empty. */
export function readFileMetadata(metadata: Record<string, unknown> | undefined, fallbackId: string): FileMetadata {
  const announced = readAnnounced(metadata, fallbackId);
  return { ...announced, name: announced.name.replace(/[/\\]/g, '_').slice(0, 255) || 'file' };
}
