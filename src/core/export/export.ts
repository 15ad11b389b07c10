import { Readable } from 'node:stream';
import type { FileStore } from '../../backends/files/file-store.js';
import type { ExportCursor, ExportScope, Store } from '../../backends/store/store.js';
import type { AuditRecorder } from '../audit/ports.js';
import type { ConversationKey, Conversations } from '../conversations/conversations.js';
import { DomainError } from '../errors.js';
import type { Id, Message, User } from '../model.js';
import type { RateLimits } from '../rate-limits.js';
import type { ArchiveEntry, ArchivePacker } from './ports.js';

/** Messages per JSON-lines file of the archive: one such file is the most an export holds in memory. */
export const EXPORT_CHUNK = 500;

/** What an export covers: the actor's own data, one conversation they are in, or (tenant admins) their tenant. */
export type ExportTarget = { kind: 'user' } | { kind: 'conversation'; key: ConversationKey } | { kind: 'tenant' };

/** `<conversation id>-<seq>`: the last message an export gave; an export `after` it goes on from the next. */
export const formatExportCursor = (c: ExportCursor) => `${c.conversationId}-${c.seq}`;

export function parseExportCursor(text: string | undefined): ExportCursor {
  if (text === undefined || text === '') return { conversationId: 0, seq: 0 };
  const m = /^(\d{1,16})-(\d{1,16})$/.exec(text);
  if (!m) throw new DomainError('invalid_input');
  return { conversationId: Number(m[1]), seq: Number(m[2]) };
}

/**
 * One message as a line of the archive's `messages/*.jsonl` (docs/export.md): its cursor first,
 * its files by their path in the archive. A deleted message is its tombstone (no content).
 */
function messageLine(m: Message, senderName: string | null, files: Map<string, string>): Record<string, unknown> {
  return {
    cursor: formatExportCursor({ conversationId: m.conversationId, seq: m.seq }),
    conversation_id: m.conversationId,
    seq: m.seq,
    id: m.id,
    uuid: m.uuid,
    sender_id: m.senderId,
    sender_name: senderName,
    kind: m.kind,
    content: m.deletedAt === null ? m.content : null,
    reply_to: m.replyToUuid,
    created_at: new Date(m.createdAt).toISOString(),
    edited_at: m.editedAt === null ? null : new Date(m.editedAt).toISOString(),
    deleted: m.deletedAt !== null,
    attachments: m.deletedAt !== null ? [] : m.attachments.map((a) => ({ path: files.get(a.storedPath), file_name: a.fileName, size: a.size, mime_type: a.mimeType })),
  };
}

const bytesEntry = (name: string, text: string): ArchiveEntry => {
  const bytes = Buffer.from(text);
  return { name, size: bytes.length, open: () => Readable.from([bytes]) };
};

/**
 * Exports (issue 20) as one archive, streamed: `profile.json` (a user's own export),
 * `messages/<cursor>.jsonl` (EXPORT_CHUNK messages each, in (conversation, seq) order, each
 * line carrying its cursor) and `files/<attachment uuid>/<name>` after the lines that name
 * them. `after` resumes after a line's cursor. Only what the actor may see: their own
 * messages, a conversation they are in (without what they deleted for themselves), or their
 * tenant for its admins. Under a rate limit per user.
 */
export class Exports {
  constructor(
    readonly store: Store,
    readonly conversations: Conversations,
    readonly fileStore: FileStore,
    readonly rateLimits: RateLimits,
    readonly packer: ArchivePacker,
    readonly audit: AuditRecorder,
  ) {}

  get mediaType(): string {
    return this.packer.mediaType;
  }

  get extension(): string {
    return this.packer.extension;
  }

  /** Checks the actor may export `target` (and spends its rate limit), then the archive as a stream. */
  async archive(actor: User, target: ExportTarget, after?: string, origin?: string): Promise<Readable> {
    const cursor = parseExportCursor(after);
    const scope = await this.#scope(actor, target);
    await this.rateLimits.export(actor.id);
    if (target.kind === 'tenant') {
      await this.audit.record({ tenantId: actor.tenantId, actorId: actor.id, action: 'tenant.export', targetType: 'tenant', targetId: actor.tenantUuid, origin });
    }
    return this.packer.pack(this.#entries({ scope, profile: target.kind === 'user' ? actor : null, hiddenFor: target.kind === 'conversation' ? actor.id : null }, cursor));
  }

  /**
   * The server operator's export (the `parley export` CLI): a user's own data, a whole
   * conversation or a tenant, with no one's view applied and no rate limit.
   */
  operatorArchive(what: { user: User } | { conversationId: Id } | { tenantId: Id }, after?: string): Readable {
    const scope: ExportScope = 'user' in what ? { senderId: what.user.id } : what;
    return this.packer.pack(this.#entries({ scope, profile: 'user' in what ? what.user : null, hiddenFor: null }, parseExportCursor(after)));
  }

  async #scope(actor: User, target: ExportTarget): Promise<ExportScope> {
    if (target.kind === 'user') return { senderId: actor.id };
    if (target.kind === 'tenant') {
      if (actor.tenantRole !== 'admin') throw new DomainError('not_permitted');
      return { tenantId: actor.tenantId };
    }
    const { conversation } = await this.conversations.access(actor, target.key);
    return { conversationId: conversation.id };
  }

  /** `profile`: the user whose own data this is (profile.json); `hiddenFor`: whose deletes-for-me leave messages out. */
  async *#entries(of: { scope: ExportScope; profile: User | null; hiddenFor: Id | null }, after: ExportCursor): AsyncGenerator<ArchiveEntry> {
    const { scope, profile: user } = of;
    if (user && after.conversationId === 0) {
      const profile = { id: user.id, uuid: user.uuid, email: user.email, name: user.name, avatar_url: user.avatarUrl, created_at: new Date(user.createdAt).toISOString(), tenant_id: user.tenantUuid };
      yield bytesEntry('profile.json', JSON.stringify(profile, null, 2) + '\n');
    }
    for (let cursor = after; ; ) {
      const positions = await this.store.exportPositions(scope, cursor, EXPORT_CHUNK);
      if (positions.length === 0) return;
      const messages = await this.#messages(of.hiddenFor, positions);
      const senders = await this.store.userSummaries([...new Set(messages.map((m) => m.senderId))]);
      const files = new Map<string, string>();
      for (const m of messages) if (m.deletedAt === null) for (const a of m.attachments) files.set(a.storedPath, `files/${a.uuid}/${a.fileName}`);
      const lines = messages.map((m) => JSON.stringify(messageLine(m, senders.get(m.senderId)?.name ?? null, files)) + '\n');
      yield bytesEntry(`messages/${formatExportCursor(positions[0])}.jsonl`, lines.join(''));
      for (const m of messages) {
        if (m.deletedAt !== null) continue;
        for (const a of m.attachments) {
          const file = await this.fileStore.open(a.storedPath);
          // A file removed meanwhile (its message purged or deleted): its line names it, the archive has no bytes for it.
          if (file) yield { name: files.get(a.storedPath)!, size: file.size, open: () => file.stream() };
        }
      }
      cursor = positions.at(-1)!;
      if (positions.length < EXPORT_CHUNK) return;
    }
  }

  /** The messages at `positions`, read by seq range per conversation, without those the actor deleted for themselves. */
  async #messages(hiddenFor: Id | null, positions: ExportCursor[]): Promise<Message[]> {
    const byConversation = new Map<Id, number[]>();
    for (const p of positions) byConversation.set(p.conversationId, [...(byConversation.get(p.conversationId) ?? []), p.seq]);
    const out: Message[] = [];
    for (const [conversationId, seqs] of byConversation) {
      const wanted = new Set(seqs);
      const read = await this.store.messagesBySeq(conversationId, seqs[0], seqs.at(-1)!);
      out.push(...read.filter((m) => wanted.has(m.seq)).sort((a, b) => a.seq - b.seq));
    }
    if (hiddenFor === null) return out;
    const hidden = await this.store.hiddenMessageIds(hiddenFor, out.map((m) => m.id));
    return out.filter((m) => !hidden.has(m.id));
  }
}
