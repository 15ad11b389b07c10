import type { Conversation, Member, Message, User } from '@parley/sdk';

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

export const formatTime = (iso: string) => time.format(new Date(iso));

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function daysAgo(d: Date): number {
  const a = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const now = new Date();
  const b = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  return Math.round((b - a) / 86_400_000);
}

/** "Today", "Yesterday", or the date: the separators between days of a conversation. */
export function dayLabel(iso: string): string {
  const d = new Date(iso);
  const n = daysAgo(d);
  if (n === 0) return 'Today';
  if (n === 1) return 'Yesterday';
  return longDate.format(d);
}

/** The time shown in the conversation list. */
export function listTime(iso: string): string {
  const d = new Date(iso);
  const n = daysAgo(d);
  if (n === 0) return time.format(d);
  if (n < 7) return weekday.format(d);
  return shortDate.format(d);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** 3.4 → "0:03"; 75 → "1:15" (whole seconds, as players show them; a short sound is 0:01). */
export function formatDuration(seconds: number | null | undefined): string {
  const v = seconds ?? 0;
  const s = v > 0 ? Math.max(1, Math.floor(v)) : 0;
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? '?').slice(0, 2);
  return s.toUpperCase();
}

/** The other person of a direct conversation (or yourself, in a conversation with yourself). */
export function otherMember(c: Conversation, me: User | null): Member | undefined {
  return c.members.find((m) => m.user.id !== me?.id) ?? c.members[0];
}

export function conversationTitle(c: Conversation, me: User | null): string {
  if (c.kind === 'direct') return otherMember(c, me)?.user.name ?? 'Direct chat';
  if (c.title) return c.title;
  const names = c.members.filter((m) => m.user.id !== me?.id).map((m) => m.user.name);
  return names.length ? names.join(', ') : 'Group';
}

/** One line about a message, for the list and reply quotes. */
export function messageSummary(m: Message): string {
  if (m.deleted_at) return 'Message deleted';
  const caption = m.content?.trim() ?? '';
  const first = m.attachments[0];
  if (m.kind === 'voice' || first?.kind === 'voice') return `🎤 Voice message${first?.duration ? ` (${formatDuration(first.duration)})` : ''}`;
  if (first?.kind === 'image') return `📷 ${caption || (m.attachments.length > 1 ? `${m.attachments.length} photos` : 'Photo')}`;
  if (first) return `📎 ${caption || first.name}`;
  return caption.split('\n')[0];
}

/** A stable hue per user, for avatars. */
export function hueOf(id: number): number {
  return (id * 137) % 360;
}
