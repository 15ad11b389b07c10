import type { ConversationKind, Role } from '../model.js';

/**
 * Who may do what in a group or channel (README: "Permissions"). The creator is admin; a
 * direct conversation has no roles that matter: its two people are fixed.
 */
export const PERMISSIONS = {
  add_participant: ['admin', 'moderator'],
  remove_participant: ['admin', 'moderator'],
  rename: ['admin', 'moderator'],
  change_role: ['admin'],
  /** Public (in the tenant's directory) or private (invite only): a channel's admins. */
  set_visibility: ['admin'],
  delete_conversation: ['admin'],
  delete_any_message: ['admin', 'moderator'],
  /** In a group or channel; both people of a direct conversation pin. */
  pin_message: ['admin', 'moderator'],
  /** In a channel; everyone posts in a group or a direct conversation. */
  post_in_channel: ['admin', 'moderator'],
  /** "Keep messages N days" of a group or channel (issue 20); tenant admins set it anywhere. */
  set_retention: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export const may = (role: Role, action: Action): boolean => (PERMISSIONS[action] as readonly Role[]).includes(role);

export const mayPost = (kind: ConversationKind, role: Role): boolean => kind !== 'channel' || may(role, 'post_in_channel');
