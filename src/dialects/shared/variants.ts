import type { EventOf, EventType } from '../../core/events.js';
import type { Id } from '../../core/model.js';
import type { Connection, EventRenderer } from '../../delivery/connection.js';

/** How a renderer keys one type of event: a fixed variant, null (not shown), or one worked out per viewer. */
export type VariantRule<S, K extends EventType> = string | null | ((e: EventOf<K>, conn: Connection<S>) => string | null);

/** A rule per event type; a type without one takes the renderer's `otherwise`. */
export type VariantRules<S> = { readonly [K in EventType]?: VariantRule<S, K> };

/**
 * A renderer's `key` as a table by event type: each dialect says only how its frames vary,
 * the rules every dialect shares (bySender, toOthers) have one home here.
 */
export function variantKeys<S>(rules: VariantRules<S>, otherwise: string | null): EventRenderer<S>['key'] {
  return (e, conn) => {
    const rule = rules[e.type] as VariantRule<S, EventType> | undefined;
    if (rule === undefined) return otherwise;
    return typeof rule === 'function' ? rule(e, conn) : rule;
  };
}

/** A message shows one way to its sender ('s') and another to everyone else ('r'). */
export const bySender = (e: { message: { senderId: Id } }, conn: Connection<unknown>): 's' | 'r' => (e.message.senderId === conn.user.id ? 's' : 'r');

/** One's own typing or presence is not shown back to one; the others see the variant `key`. */
export const toOthers =
  (key: string) =>
  (e: { user: { id: Id } }, conn: Connection<unknown>): string | null =>
    e.user.id === conn.user.id ? null : key;

/** Not shown to whoever hid the message for themselves (delete for me); the others see the variant `key`. */
export const notHiddenFrom =
  (key: string) =>
  (e: { hiddenFrom?: readonly Id[] }, conn: Connection<unknown>): string | null =>
    e.hiddenFrom?.includes(conn.user.id) ? null : key;
