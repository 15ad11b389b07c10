// The vocabulary of file policies: the types Parley knows, and the shape of what a document
// allows. One validator (files.ts) reads a policy as data; each dialect declares its
// document's policy beside its routes (e.g. src/dialects/chat/file-policy.ts) and holds no
// rule of its own.

/** The three folders of the documents' storage layout (static/chat_files/{images,files,voices}/). */
export type FileCategory = 'image' | 'file' | 'voice';

/** One type a document allows: its canonical MIME type and the file-name extensions it goes by. */
export interface FileType {
  mime: string;
  exts: readonly string[];
  category: FileCategory;
}

export interface CategoryRule {
  /** Canonical MIME types, in the order the error text lists them. */
  readonly mimes: readonly string[];
  readonly maxBytes: number;
}

export interface FilePolicy {
  readonly name: string;
  readonly categories: Readonly<Record<FileCategory, CategoryRule>>;
  /** Most files in one message or one upload request. */
  readonly maxFiles: number;
}

export const MB = 1024 * 1024;

/** Every type any document allows, by canonical MIME type. */
export const FILE_TYPES: Readonly<Record<string, FileType>> = Object.freeze(
  Object.fromEntries(
    (
      [
        ['image/jpeg', ['jpg', 'jpeg', 'jpe', 'jfif'], 'image'],
        ['image/png', ['png'], 'image'],
        ['image/gif', ['gif'], 'image'],
        ['image/webp', ['webp'], 'image'],
        ['application/pdf', ['pdf'], 'file'],
        ['application/msword', ['doc', 'dot'], 'file'],
        ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', ['docx'], 'file'],
        ['application/vnd.ms-excel', ['xls', 'xlt'], 'file'],
        ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', ['xlsx'], 'file'],
        ['text/plain', ['txt', 'text', 'log'], 'file'],
        ['application/zip', ['zip'], 'file'],
        ['application/vnd.rar', ['rar'], 'file'],
        ['audio/mpeg', ['mp3'], 'voice'],
        ['audio/wav', ['wav', 'wave'], 'voice'],
        ['audio/mp4', ['m4a', 'mp4'], 'voice'],
        ['audio/aac', ['aac'], 'voice'],
        ['audio/ogg', ['ogg', 'oga', 'opus'], 'voice'],
      ] as const
    ).map(([mime, exts, category]) => [mime, { mime, exts, category }]),
  ),
);

/**
 * Other names for the canonical types: what browsers, operating systems and file-type
 * report for the same format. A declared type and a sniffed one agree when both map to
 * the same canonical type.
 */
const ALIASES: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/x-png': 'image/png',
  'application/x-pdf': 'application/pdf',
  'application/x-zip-compressed': 'application/zip',
  'application/x-zip': 'application/zip',
  'application/zip-compressed': 'application/zip',
  'application/x-rar-compressed': 'application/vnd.rar',
  'application/x-rar': 'application/vnd.rar',
  'application/rar': 'application/vnd.rar',
  'application/vnd.ms-word': 'application/msword',
  'application/x-msexcel': 'application/vnd.ms-excel',
  'application/x-excel': 'application/vnd.ms-excel',
  'application/excel': 'application/vnd.ms-excel',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-mpeg-3': 'audio/mpeg',
  'audio/x-mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/x-wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-pn-wav': 'audio/wav',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/x-mp4': 'audio/mp4',
  'audio/aacp': 'audio/aac',
  'audio/x-aac': 'audio/aac',
  'audio/x-hx-aac-adts': 'audio/aac',
  'audio/opus': 'audio/ogg',
  'audio/x-ogg': 'audio/ogg',
  'application/ogg': 'audio/ogg',
  'audio/vorbis': 'audio/ogg',
  'text/x-log': 'text/plain',
};

/** An OLE compound file (file-type's `application/x-cfb`) is the container of both DOC and XLS. */
export const CFB_MIME = 'application/x-cfb';
export const CFB_TYPES: readonly string[] = ['application/msword', 'application/vnd.ms-excel'];

/** Declarations that say nothing: treated as undeclared. */
const UNDECLARED = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'application/unknown']);

/** `Image/JPEG; charset=x` → `image/jpeg`; an empty or octet-stream declaration → null. */
export function normalizeDeclared(mime: string | null | undefined): string | null {
  if (mime == null) return null;
  const base = mime.split(';')[0].trim().toLowerCase();
  return UNDECLARED.has(base) ? null : base;
}

/** The canonical type of a MIME type (itself when it has no alias). */
export const canonicalMime = (mime: string): string => ALIASES[mime] ?? mime;

/** The largest file a policy accepts in any category (the bound for streaming to disk). */
export const policyMaxBytes = (p: FilePolicy): number => Math.max(...Object.values(p.categories).map((c) => c.maxBytes));
