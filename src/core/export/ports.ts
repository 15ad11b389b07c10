import type { Readable } from 'node:stream';

/** One file of an export archive: its bytes, produced only when the archive reaches it. */
export interface ArchiveEntry {
  /** The path inside the archive (`messages/7-1.jsonl`, `files/<uuid>/photo.jpg`). */
  name: string;
  size: number;
  /** The bytes, exactly `size` of them. */
  open(): Promise<Readable> | Readable;
}

/** Packs entries into one archive as a stream, taking each entry only as the reader drains the one before. */
export interface ArchivePacker {
  /** The archive's media type and file extension (`application/x-tar`, `tar`). */
  readonly mediaType: string;
  readonly extension: string;
  pack(entries: AsyncIterable<ArchiveEntry>): Readable;
}
