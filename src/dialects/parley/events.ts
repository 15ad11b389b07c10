import type { Static } from '@sinclair/typebox';
import type { Conversation, LoggedEvent, UserSummary } from '../../core/model.js';
import type { NamedEvents } from '../../core/webhooks/webhooks.js';
import { iso } from '../shared/time.js';
import { renderMessage, renderUser, type Ctx } from './render.js';
import type { EventOut } from './schemas.js';

const renderConversationRef = (c: Conversation) => ({ id: c.id, uuid: c.uuid, kind: c.kind, title: c.title, visibility: c.visibility, created_by: c.createdBy, created_at: iso(c.createdAt) });

/** An event of the log as the events API and every webhook show it (the same id, the same body); `users` names everyone (NamedEvents). */
export function renderEvent(ctx: Ctx, e: LoggedEvent, users: Map<number, UserSummary>): Static<typeof EventOut> {
  const user = (id: number) => renderUser(users.get(id)!);
  const p = e.payload;
  const data =
    'conversation' in p
      ? { conversation: renderConversationRef(p.conversation) }
      : 'message' in p
        ? { message: renderMessage(ctx, p.message, users.get(p.message.senderId)!), ...('emoji' in p ? { user: user(p.userId), emoji: p.emoji } : {}) }
        : { user: user(p.userId), role: p.role };
  return { id: e.uuid, cursor: e.seq, type: e.type, timestamp: iso(e.createdAt), conversation_id: e.conversationId, data };
}

export const renderEvents = (ctx: Ctx, { events, users }: NamedEvents) => events.map((e) => renderEvent(ctx, e, users));
