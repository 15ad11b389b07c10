import type { Readable } from 'node:stream';
import type { Config } from '../../config/config.js';
import { isFileKey, StagedTooLarge, type FileStore, type StagedFile, type StoredFileHandle } from '../../backends/files/file-store.js';
import type { AttachmentRecord, NewAttachment, PendingQuota, Store } from '../../backends/store/store.js';
import type { Conversations } from '../conversations/conversations.js';
import { DomainError, isDomainError, refusal, storeCall } from '../errors.js';
import type { PreparedFiles, SendInput } from '../messages/messages.js';
import type { Attachment, Id, MessageKind, User } from '../model.js';
import { BufferSource, FileSource, measureAudio, refusePolyglot, sniff, type Source } from './inspect.js';
import { MediaPool } from './media-pool.js';
import type { AudioProbe, ImageInspector, ImageLimits } from './ports.js';
import {
  CFB_MIME,
  CFB_TYPES,
  FILE_TYPES,
  canonicalMime,
  normalizeDeclared,
  policyMaxBytes,
  type FileCategory,
  type FilePolicy,
} from './policy.js';
import { UrlSigner, type SignatureCheck } from './signer.js';
import { decodeBase64Text } from './base64.js';

/**
 * One file of a message, as a dialect received it: base64 bytes with what the client
 * declared about them, or a reference to a file the sender uploaded before (the documents'
 * upload-then-send).
 */
export type FileInput =
  | {
      source: 'base64';
      /**
       * The base64 text: a string, or its bytes as received (a slice of a socket frame, never
       * made into one string). Emptied by the service once decoded, so it can be collected.
       */
      data: string | Buffer;
      name?: string | null;
      mimeType?: string | null;
      /** Declared: ignored (the decoded size counts). */
      size?: number | null;
      /** Declared: ignored (the duration is measured). */
      duration?: number | null;
    }
  | { source: 'upload'; key: string };

/** A file streamed to disk by a dialect (multipart), waiting for validation. */
export interface IncomingFile {
  staged: StagedFile;
  name: string | null;
  mimeType: string | null;
}

/** Stages the files of one upload request, within the uploader's pending quota (Files.intake). */
export interface UploadIntake {
  stage(stream: Readable | AsyncIterable<Uint8Array>): Promise<StagedFile>;
}

/** What a download check found: the file, its attachment, and how to serve it. */
export interface Download {
  attachment: Attachment;
  thumbnail: boolean;
  /** The type to serve: the sniffed one (thumbnails are WebP). */
  mimeType: string;
  file: StoredFileHandle;
}

interface Inspected {
  category: FileCategory;
  mime: string;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  thumbnail: Buffer | null;
}

const FILE_KINDS: readonly string[] = ['image', 'file', 'voice'];
const DIR: Record<FileCategory, string> = { image: 'images', file: 'files', voice: 'voices' };

// A name is shown to others and goes into Content-Disposition: no path, no control or
// direction-override characters (an RTL override makes "exe.jpg" read as "gpj.exe").
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;
// Extensions a browser or desktop would treat as something active, whatever the bytes.
const RISKY_EXT = new Set('html htm xhtml shtml svg svgz xml xsl js mjs cjs jsx ts exe com bat cmd scr msi msp dll sys sh bash ps1 psm1 vbs vbe wsf wsh hta jar apk app dmg php phtml asp aspx jsp cgi pl py rb lnk reg url desktop'.split(' '));
const KNOWN_EXT = new Map(Object.values(FILE_TYPES).flatMap((t) => t.exts.map((e) => [e, t.mime] as const)));

/** The name as shown, checked: refused (never silently changed) when it hides a path or control characters. */
export function checkFileName(name: string): string {
  if (name.length === 0) throw refusal('file_name_empty');
  if ([...name].length > 255) throw refusal('file_name_too_long', { max: 255 });
  if (!name.isWellFormed()) throw refusal('file_name_not_unicode');
  if (CONTROL.test(name)) throw refusal('file_name_control_characters');
  if (/[/\\]/.test(name) || name === '.' || name === '..') {
    throw refusal('file_name_path');
  }
  return name;
}

const extOf = (name: string): string | null => {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : null;
};

/** The name on disk: ASCII letters, digits, `.`, `-`, `_` (documents 000/001: "File names are sanitized"), with the type's own extension. */
export function diskName(name: string, mime: string): string {
  const type = FILE_TYPES[mime];
  const ext = extOf(name);
  const base = ext && type.exts.includes(ext) ? name.slice(0, -(ext.length + 1)) : name;
  let safe = base
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 100);
  if (safe === '' || safe === '_') safe = 'file';
  return `${safe}.${ext && type.exts.includes(ext) ? ext : type.exts[0]}`;
}

export interface SignedFile {
  readonly key: string;
  readonly exp: number;
  readonly sig: string;
}

/** Whether a string names a stored file (`chat_files/<folder>/<name>`): what a reference must come down to. */
export { isFileKey };

/**
 * Strict base64 (either alphabet, optional data: URL prefix). Node's decoder skips what it
 * does not understand, so the decoded length is checked against the one the text implies:
 * any stray character makes it fall short. One pass, no regular expression over 70 MB.
 */
export function decodeBase64(data: string, maxBytes: number): Buffer {
  let s = data;
  if (s.startsWith('data:')) {
    const comma = s.indexOf(',');
    if (comma < 0 || !/;base64$/i.test(s.slice(0, comma))) throw refusal('file_data_not_base64_url');
    s = s.slice(comma + 1);
  }
  for (let attempt = 0; ; attempt++) {
    if (s.length === 0) throw refusal('file_data_empty');
    const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
    const expected = Math.floor((s.length * 3) / 4) - pad;
    // Refused before decoding: the size is known from the length.
    if (expected > maxBytes) throw new DomainError('file_too_large', { params: { max_bytes: maxBytes } });
    if (s.length % 4 !== 1 && (pad === 0 || s.length % 4 === 0)) {
      const bytes = Buffer.from(s, 'base64');
      if (bytes.length === expected) return bytes;
    }
    // Line-wrapped base64 (MIME): the breaks are not data.
    if (attempt === 0 && /\s/.test(s)) {
      s = s.replace(/\s+/g, '');
      continue;
    }
    throw refusal('file_data_not_base64');
  }
}

/** The media libraries the file service reaches through ports (src/backends/media). */
export interface MediaLibraries {
  imageInspector: ImageInspector;
  /** Stopped by Files.close(). */
  audioProbe: AudioProbe;
}

/**
 * Files, images and voice messages for every dialect: validation against a document's
 * policy, measurement, storage and access. Nothing a client declares is trusted: the type
 * is sniffed from the bytes, the size is the decoded size, the duration is measured.
 * A file reaches its key only after the message (or the pending upload) that references
 * it has committed (FileStore contract); any refusal leaves nothing on disk.
 */
export class Files {
  readonly signer: UrlSigner;
  /** Every image and audio decode goes through it (MEDIA_CONCURRENCY at a time). */
  readonly media: MediaPool;
  readonly #images: ImageInspector;
  readonly #audio: AudioProbe;
  readonly #imageLimits: ImageLimits;
  readonly #quota: PendingQuota;

  constructor(
    readonly store: Store,
    readonly fileStore: FileStore,
    readonly conversations: Conversations,
    readonly config: Config,
    libraries: MediaLibraries,
  ) {
    this.signer = new UrlSigner(config.jwtSecret, config.fileUrlTtlSeconds);
    this.media = new MediaPool(config.mediaConcurrency);
    this.#images = libraries.imageInspector;
    this.#audio = libraries.audioProbe;
    this.#imageLimits = { maxPixels: config.imageMaxPixels, maxDecodedBytes: config.imageMaxDecodedBytes, timeoutMs: config.mediaTimeoutMs };
    this.#quota = { maxFiles: config.filesPendingQuotaFiles, maxBytes: config.filesPendingQuotaBytes };
  }

  /** Stops the audio workers (shutdown). */
  async close(): Promise<void> {
    await this.#audio.close();
  }

  /**
   * The files a send to `input.conversation` carries (`core.messages.send` takes them as
   * `input.files`): each file validated in turn (one base64 file in memory at a time) and
   * written as `.part`; committed once the message is, removed otherwise. A refused file
   * refuses the send, and the files already written are removed.
   */
  async prepare(actor: User, input: Pick<SendInput, 'conversation' | 'kind' | 'clientId'>, files: FileInput[], documentPolicy: FilePolicy): Promise<PreparedFiles> {
    if (files.length === 0) throw refusal('no_files_uploaded');
    const policy = await this.#forTenant(actor, documentPolicy);
    if (files.length > policy.maxFiles) throw new DomainError('too_many_files', { params: { max: policy.maxFiles } });
    // Who may send here is known before any byte is decoded.
    const conversation = await this.conversations.memberRef(actor, input.conversation);
    const hint = FILE_KINDS.includes(input.kind) ? (input.kind as FileCategory) : null;
    const written: string[] = [];
    try {
      const attachments: NewAttachment[] = [];
      const stamp = Date.now();
      for (let i = 0; i < files.length; i++) {
        const f = files[i];
        if (f.source === 'upload') {
          attachments.push(await this.#claimable(actor, conversation.id, f.key, hint, policy, input.clientId ? String(input.clientId).slice(0, 255) : null));
          continue;
        }
        const limit = hint ? policy.categories[hint].maxBytes : policyMaxBytes(policy);
        const bytes = typeof f.data === 'string' ? decodeBase64(f.data, limit) : await decodeBase64Text(f.data, limit);
        f.data = '';
        const name = f.name == null || f.name === '' ? null : checkFileName(f.name);
        const source = new BufferSource(bytes);
        const facts = await this.#inspect(source, name, f.mimeType ?? null, hint, policy);
        attachments.push(await this.#place(actor, stamp, i, name, facts, (key) => this.fileStore.putBytes(key, bytes), written, bytes.length));
      }
      return {
        attachments,
        kind: hint ?? attachments[0].kind,
        commit: () => this.#commitAll(written),
        discard: () => this.#removeAll(written),
      };
    } catch (e) {
      await this.#removeAll(written);
      throw e;
    }
  }

  /**
   * Receives the files of one upload request of `actor` (000's `upload-files`, 003's
   * `upload/`, /api/parley/files): each is streamed to a staging file and refused past the
   * policy's largest limit. Refuses at once when the actor's pending uploads already fill
   * FILES_PENDING_QUOTA_*, and stops staging as soon as the request would go over it, so a
   * user at the quota cannot have the server write a 500 MB request to disk first. The quota
   * is decided for good when the rows are inserted (`upload`), under a lock on the user.
   */
  async intake(actor: User, documentPolicy: FilePolicy): Promise<UploadIntake> {
    const policy = await this.#forTenant(actor, documentPolicy);
    const q = this.#quota;
    const on = q.maxFiles > 0 || q.maxBytes > 0;
    const used = on ? await this.store.pendingUsage(actor.id) : { files: 0, bytes: 0 };
    let { files, bytes } = used;
    if ((q.maxFiles > 0 && files >= q.maxFiles) || (q.maxBytes > 0 && bytes >= q.maxBytes)) throw this.#quotaError();
    const policyMax = policyMaxBytes(policy);
    return {
      stage: async (stream) => {
        if (q.maxFiles > 0 && files + 1 > q.maxFiles) throw this.#quotaError();
        const room = q.maxBytes > 0 ? q.maxBytes - bytes : Infinity;
        const limit = Math.min(policyMax, room);
        let staged: StagedFile;
        try {
          staged = await this.fileStore.stage(stream, limit);
        } catch (e) {
          if (e instanceof StagedTooLarge) throw limit < policyMax ? this.#quotaError() : new DomainError('file_too_large', { params: { max_bytes: policyMax } });
          throw e;
        }
        files += 1;
        bytes += staged.size;
        return staged;
      },
    };
  }

  /**
   * The document's policy with the tenant's upload limit (tenant_settings.max_upload_bytes,
   * set by its admins): a tenant may lower every category's size limit, never raise it.
   */
  async #forTenant(actor: User, policy: FilePolicy): Promise<FilePolicy> {
    const max = (await this.store.tenantSettings(actor.tenantId)).maxUploadBytes;
    if (max === null || max >= policyMaxBytes(policy)) return policy;
    const categories = Object.fromEntries(Object.entries(policy.categories).map(([name, c]) => [name, { ...c, maxBytes: Math.min(c.maxBytes, max) }]));
    return { ...policy, categories: categories as FilePolicy['categories'] };
  }

  #quotaError(): DomainError {
    const { maxFiles, maxBytes } = this.#quota;
    return new DomainError('upload_quota_exceeded', { params: { max_files: maxFiles, max_bytes: maxBytes } });
  }

  /** Drops staged files a request will not use (an error while receiving them). */
  async discard(files: readonly IncomingFile[]): Promise<void> {
    await Promise.all(files.map((f) => this.fileStore.discard(f.staged).catch(() => {})));
  }

  /**
   * Stores files uploaded before their message (000's `upload-files`, 003's `upload/`):
   * validated like any file, pending and owned by the uploader until a message claims
   * them, deleted if none does within FILES_PENDING_TTL_SECONDS. All or nothing.
   */
  async upload(actor: User, files: IncomingFile[], kind: MessageKind | null, documentPolicy: FilePolicy): Promise<Attachment[]> {
    const policy = await this.#forTenant(actor, documentPolicy);
    const written: string[] = [];
    try {
      if (files.length === 0) throw refusal('no_files_uploaded');
      if (files.length > policy.maxFiles) throw new DomainError('too_many_files', { params: { max: policy.maxFiles } });
      // Checked before any decoding; decided again, for good, with the rows (createPendingAttachments).
      await this.#checkQuota(actor, files);
      const hint = kind && FILE_KINDS.includes(kind) ? (kind as FileCategory) : null;
      const stamp = Date.now();
      const attachments: NewAttachment[] = [];
      for (let i = 0; i < files.length; i++) {
        const f = files[i];
        const name = f.name == null || f.name === '' ? null : checkFileName(f.name);
        const facts = await this.#inspect(new FileSource(f.staged.localPath, f.staged.size), name, f.mimeType, hint, policy, f.staged.size);
        attachments.push(await this.#place(actor, stamp, i, name, facts, (key) => this.fileStore.putStaged(f.staged, key), written, f.staged.size));
      }
      const stored = await storeCall(this.store.createPendingAttachments(actor.tenantId, actor.id, attachments, Date.now(), this.#quota));
      await this.#commitAll(written);
      return stored;
    } catch (e) {
      await this.#removeAll(written);
      throw isDomainError(e) && e.code === 'upload_quota_exceeded' ? this.#quotaError() : e;
    } finally {
      await this.discard(files);
    }
  }

  async #checkQuota(actor: User, files: readonly IncomingFile[]): Promise<void> {
    const { maxFiles, maxBytes } = this.#quota;
    if (maxFiles === 0 && maxBytes === 0) return;
    const used = await this.store.pendingUsage(actor.id);
    const bytes = used.bytes + files.reduce((n, f) => n + f.staged.size, 0);
    if ((maxFiles > 0 && used.files + files.length > maxFiles) || (maxBytes > 0 && bytes > maxBytes)) throw this.#quotaError();
  }

  /** A pending upload of the actor, ready to be claimed by its message in `conversationId`. */
  async #claimable(actor: User, conversationId: Id, key: string, hint: FileCategory | null, policy: FilePolicy, clientId: string | null): Promise<NewAttachment> {
    const rec = await this.store.attachmentByPath(key);
    if (rec && rec.ownerId === actor.id && rec.messageId !== null && clientId !== null && rec.attachment.storedPath === key) {
      // Claimed already by this sender's message with this local_temp_id in this conversation:
      // the send is a retry (its ack was lost), and the writer answers it with the original
      // message. The same id in another conversation is another send, and the file is taken.
      const original = await this.store.messageById(rec.messageId);
      if (original && original.senderId === actor.id && original.conversationId === conversationId && original.clientId === clientId) return { ...rec.attachment };
    }
    if (!rec || rec.ownerId !== actor.id || rec.messageId !== null || rec.attachment.storedPath !== key) throw new DomainError('upload_not_found');
    const a = rec.attachment;
    this.#allowed(a.mimeType, hint, policy);
    return { ...a, pendingId: a.id };
  }

  /**
   * Everything a file is checked for, in order: name, type from the bytes against the
   * declared one, the policy's types and size for its category, polyglots, then decoding
   * and measuring.
   */
  async #inspect(source: Source, name: string | null, declared: string | null, hint: FileCategory | null, policy: FilePolicy, size = source.size): Promise<Inspected> {
    let mime = await sniff(source);
    const declaredMime = normalizeDeclared(declared);
    const ext = name ? extOf(name) : null;
    if (mime === CFB_MIME) {
      // An OLE compound file is DOC or XLS (or another Office format): the declaration or the extension says which.
      const byExt = ext ? KNOWN_EXT.get(ext) : undefined;
      const claimed = declaredMime ? canonicalMime(declaredMime) : byExt;
      mime = claimed && CFB_TYPES.includes(claimed) ? claimed : null;
    }
    if (mime === null || !FILE_TYPES[mime]) {
      throw new DomainError('file_type_not_allowed', { params: { allowed: this.#allowedList(hint, policy) } });
    }
    if (declaredMime && canonicalMime(declaredMime) !== mime) {
      throw refusal('content_type_mismatch', { declared: declaredMime, found: mime });
    }
    const category = this.#allowed(mime, hint, policy);
    const limit = policy.categories[category].maxBytes;
    if (size > limit) throw new DomainError('file_too_large', { params: { max_bytes: limit } });
    if (size === 0) throw refusal('file_empty');
    if (ext && ext !== null && !FILE_TYPES[mime].exts.includes(ext) && (RISKY_EXT.has(ext) || KNOWN_EXT.has(ext))) {
      throw refusal('extension_mismatch', { extension: ext, found: mime });
    }
    // Decoded first: a damaged file is called damaged, not a polyglot.
    const facts: Inspected = { category, mime, width: null, height: null, durationSeconds: null, thumbnail: null };
    if (category === 'image') Object.assign(facts, await this.media.run(() => this.#images.inspect(source.image, mime, this.#imageLimits)));
    if (category === 'voice') facts.durationSeconds = await this.media.run(() => measureAudio(source, mime, this.#audio));
    await refusePolyglot(source, mime);
    return facts;
  }

  /** The category of an allowed type; refuses a type the message's kind (or the policy) does not allow. */
  #allowed(mime: string, hint: FileCategory | null, policy: FilePolicy): FileCategory {
    const type = FILE_TYPES[mime];
    // A "file" message may carry any allowed file; an image or voice message only its own kind.
    const ok = type && (hint === null || hint === 'file' ? true : type.category === hint) && policy.categories[type.category].mimes.includes(mime);
    if (!ok) throw new DomainError('file_type_not_allowed', { params: { allowed: this.#allowedList(hint, policy) } });
    return type.category;
  }

  #allowedList(hint: FileCategory | null, policy: FilePolicy): readonly string[] {
    if (hint === 'image' || hint === 'voice') return policy.categories[hint].mimes;
    return [...policy.categories.file.mimes, ...policy.categories.image.mimes, ...policy.categories.voice.mimes];
  }

  /**
   * Writes a file (and its thumbnail) as `.part` under the documents' name
   * `{user_id}_{timestamp}_{index}_{original}`; a taken name moves the timestamp on by a millisecond.
   */
  async #place(
    actor: User,
    stamp: number,
    index: number,
    name: string | null,
    facts: Inspected,
    put: (key: string) => Promise<boolean>,
    written: string[],
    size: number,
  ): Promise<NewAttachment> {
    const shown = name ?? `${facts.category === 'voice' ? 'voice_message' : facts.category}.${FILE_TYPES[facts.mime].exts[0]}`;
    const onDisk = diskName(shown, facts.mime);
    let key = '';
    for (let t = stamp; ; t++) {
      key = `chat_files/${DIR[facts.category]}/${actor.id}_${t}_${index}_${onDisk}`;
      if (await put(key)) break;
      if (t - stamp > 1000) throw new Error(`no free name for ${onDisk}`);
    }
    written.push(key);
    let thumbnailPath: string | null = null;
    if (facts.thumbnail) {
      const thumbKey = `chat_files/thumbnails/${key.slice(key.lastIndexOf('/') + 1)}.webp`;
      if (await this.fileStore.putBytes(thumbKey, facts.thumbnail)) {
        written.push(thumbKey);
        thumbnailPath = thumbKey;
      }
    }
    return {
      kind: facts.category,
      fileName: shown,
      storedPath: key,
      size,
      mimeType: facts.mime,
      durationSeconds: facts.durationSeconds,
      width: facts.width,
      height: facts.height,
      thumbnailPath,
    };
  }

  async #commitAll(keys: readonly string[]): Promise<void> {
    // The rows are committed: a failed rename is finished by the sweep, and served from `.part` meanwhile.
    await Promise.all(keys.map((k) => this.fileStore.commit(k).catch(() => {})));
  }

  async #removeAll(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => this.fileStore.remove(k).catch(() => {})));
  }

  /** The query that lets anyone holding it read `key` until it expires (DialectContext.fileUrl). */
  signature(key: string): { exp: number; sig: string } {
    return this.signer.sign(key);
  }

  /**
   * Whether a download of `key` is allowed, and the file: with a valid signature, or for a
   * participant of the file's conversation (the owner, while it is pending). Without either
   * the answer is `file_access_denied` whether the file exists or not.
   */
  async download(key: string, credentials: { exp?: unknown; sig?: unknown; user?: User | null }): Promise<Download> {
    let signature: SignatureCheck = 'invalid';
    if (credentials.sig !== undefined && isFileKey(key)) signature = this.signer.verify(key, credentials.exp, credentials.sig);
    const user = credentials.user ?? null;
    if (signature !== 'ok' && !user) {
      throw signature === 'expired' ? refusal('file_link_expired') : new DomainError('file_access_denied');
    }
    const rec = isFileKey(key) ? await this.store.attachmentByPath(key) : undefined;
    if (signature !== 'ok' && !(rec && (await this.#mayRead(user!, rec)))) throw new DomainError('file_access_denied');
    // A deleted message's or conversation's files are gone for everyone at once, signed links
    // handed out before included: the row is read on every download, never cached.
    if (!rec || rec.messageDeletedAt !== null || rec.conversationDeletedAt !== null) throw new DomainError('file_not_found');
    const file = await this.fileStore.open(key);
    if (!file) throw new DomainError('file_not_found');
    const thumbnail = rec.attachment.storedPath !== key;
    return { attachment: rec.attachment, thumbnail, mimeType: thumbnail ? 'image/webp' : rec.attachment.mimeType, file };
  }

  async #mayRead(user: User, rec: AttachmentRecord): Promise<boolean> {
    if (rec.tenantId !== user.tenantId) return false;
    if (rec.conversationId === null) return rec.ownerId === user.id;
    // A deleted conversation has no roles left, but its participants are told its files are
    // gone (file_not_found), not refused: read the row they keep.
    if (rec.conversationDeletedAt !== null) return (await this.store.participant(rec.conversationId, user.id)) !== undefined;
    return (await this.conversations.role(rec.conversationId, user.id)) !== undefined;
  }

  /**
   * Removes what a crash or an abandoned upload left: pending uploads older than
   * FILES_PENDING_TTL_SECONDS, the files of deleted conversations, then (FileStore.sweep)
   * unreferenced `.part`, staging and committed files, rolling forward the `.part` files
   * whose rows committed.
   */
  async sweep(
    now = Date.now(),
    graceSeconds = this.config.filesSweepGraceSeconds,
  ): Promise<{ pendingDeleted: number; conversationFilesDeleted: number; rolledForward: number; removed: number }> {
    const stale = await this.store.deletePendingAttachments(now - this.config.filesPendingTtlSeconds * 1000);
    await this.#removeAll(stale);
    // The rows stay (the messages are tombstones, their attachments metadata); the bytes go.
    // A conversation counts as done only once its deletion is older than the grace period:
    // a send that passed its membership check just before the delete may still commit a file
    // into it, and the next sweep removes that one too.
    const deleted = await this.store.deletedConversationFiles();
    let conversationFilesDeleted = 0;
    for (const d of deleted) {
      await this.#removeAll(d.keys);
      conversationFilesDeleted += d.keys.length;
    }
    await this.store.markConversationFilesPurged(
      deleted.filter((d) => d.deletedAt < now - graceSeconds * 1000).map((d) => d.conversationId),
      now,
    );
    const report = await this.fileStore.sweep((keys) => this.store.referencedPaths(keys), graceSeconds * 1000);
    return { pendingDeleted: stale.length, conversationFilesDeleted, ...report };
  }

  /**
   * An attachment's file or thumbnail with a signature that lets whoever holds it read it
   * until `exp` (FILE_URL_TTL_SECONDS); the dialects make a URL of it.
   */
  signed(a: Attachment, variant: 'file' | 'thumbnail' = 'file'): SignedFile | null {
    const key = variant === 'thumbnail' ? a.thumbnailPath : a.storedPath;
    if (!key) return null;
    return { key, ...this.signature(key) };
  }
}
