import type { ConversationView, Id, Message, Participant, UserSummary } from '../../core/model.js';
import { deletedUser } from '../../core/users.js';
import { iso, isoOrNull } from '../shared/time.js';

// Document 004: UUIDs, an account object per side, and a status derived from the
// receiver's watermarks (sent → delivered → read); never a row per message per reader.

export const account = (u: UserSummary) => ({
  account_id: u.uuid,
  id: u.id,
  username: u.email,
  full_name: u.name,
  avatar: u.avatarUrl,
});

export type Status = 'sent' | 'delivered' | 'read';

export function statusOf(seq: number, receiver: Pick<Participant, 'readSeq' | 'deliveredSeq'> | null): Status {
  if (!receiver) return 'sent';
  if (receiver.readSeq >= seq) return 'read';
  if (receiver.deliveredSeq >= seq) return 'delivered';
  return 'sent';
}

export function renderMessage(
  m: Message,
  sender: UserSummary,
  receiver: UserSummary,
  status: Status,
  readAt: number | null,
  localTempId: string | null = null,
) {
  return {
    message_id: m.uuid,
    id: m.id,
    seq: m.seq,
    sender_id: sender.uuid,
    receiver_id: receiver.uuid,
    content: m.content ?? '',
    message_type: m.kind,
    status,
    is_deleted: m.deletedAt !== null,
    created_at: iso(m.createdAt),
    updated_at: iso(m.editedAt ?? m.deletedAt ?? m.createdAt),
    read_at: status === 'read' ? isoOrNull(readAt) : null,
    local_temp_id: localTempId,
    sender: account(sender),
    receiver: account(receiver),
  };
}

export const otherOf = (pair: readonly [UserSummary, UserSummary], me: Id) => (pair[0].id === me ? pair[1] : pair[0]);

/** A message as 004 shows it to `viewer`, with the status from the receiver's watermarks. */
export function render004(view: ConversationView, m: Message, localTempId: string | null = null) {
  const sender = view.members.find((x) => x.user.id === m.senderId);
  const receiver = view.members.find((x) => x.user.id !== m.senderId);
  const s = sender?.user ?? deletedUser(m.senderId);
  const r = receiver?.user ?? s;
  return renderMessage(m, s, r, statusOf(m.seq, receiver?.participant ?? null), receiver?.participant.readAt ?? null, localTempId);
}
