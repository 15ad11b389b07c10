import Database from 'better-sqlite3';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Sent } from './client.js';

// The verdict of a crash run, read with the server stopped: the SQLite file opened read-only
// and the files under FILES_ROOT, against what the clients recorded as acknowledged.

export interface CheckFigures {
  integrity: string;
  messagesStored: number;
  attachmentsStored: number;
  /** Acknowledged, but not in the database as acknowledged (missing, other seq, other room, other content, files missing from the row). */
  ackedButLost: number;
  /** Messages stored twice: the same (sender, client_id), or the same content (= local_temp_id) under two rows. */
  duplicates: number;
  /** Seqs in 1..last_seq with no message, plus seqs stored twice or above last_seq. */
  seqGaps: number;
  seqRepeats: number;
  /** Files under static/chat_files no attachment row names (`.part` files included). */
  orphanFiles: number;
  /** Attachment rows (and thumbnails) whose file is not on disk under its key. */
  missingFiles: number;
  /** Messages of kind image/file/voice with no attachment row. */
  fileMessagesWithoutFiles: number;
  /** Files left in FILES_ROOT/.staging. */
  stagingLeft: number;
}

export interface CheckDetails {
  lost: { tempId: string; why: string; ackedSeq: number | null; ackedId: number | null; ackVia: string | null }[];
  duplicates: { senderId: number; clientId: string; count: number }[];
  gaps: { conversationId: number; lastSeq: number; missing: number[]; repeated: number[]; above: number[] }[];
  orphans: string[];
  missing: string[];
}

/** Every file under `dir`, relative to `base`. */
export function walk(dir: string, base: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p, base));
    else out.push(path.relative(base, p).split(path.sep).join('/'));
  }
  return out;
}

export function checkCrashRun(dbFile: string, filesRoot: string, sent: readonly Sent[]): { figures: CheckFigures; details: CheckDetails } {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    const details: CheckDetails = { lost: [], duplicates: [], gaps: [], orphans: [], missing: [] };

    // 1. Every acknowledged message, as acknowledged.
    const byClient = db.prepare('SELECT id, conversation_id, seq, content, sender_id, deleted_at FROM messages WHERE sender_id = ? AND client_id = ?');
    const attCount = db.prepare('SELECT count(*) AS n FROM attachments WHERE message_id = ?');
    for (const s of sent) {
      if (s.seq === null) continue;
      const rows = byClient.all(s.senderId, s.tempId) as { id: number; conversation_id: number; seq: number; content: string | null }[];
      const lost = (why: string) => details.lost.push({ tempId: s.tempId, why, ackedSeq: s.seq, ackedId: s.id, ackVia: s.ackVia });
      if (rows.length === 0) {
        lost('not in the database');
        continue;
      }
      const m = rows[0];
      if (m.conversation_id !== s.roomId) lost(`stored in conversation ${m.conversation_id}, sent to ${s.roomId}`);
      else if (m.seq !== s.seq) lost(`stored with seq ${m.seq}, acked with seq ${s.seq}`);
      else if (s.id !== null && m.id !== s.id) lost(`stored with id ${m.id}, acked with id ${s.id}`);
      else if (m.content !== s.tempId) lost(`stored content ${JSON.stringify(m.content)}`);
      else if (s.kind !== 'text') {
        const n = (attCount.get(m.id) as { n: number }).n;
        if (n !== 1) lost(`a file message stored with ${n} attachments`);
        else if (s.ackFiles !== 1) lost(`a file message acked with ${s.ackFiles} files`);
      }
    }

    // 2. Stored twice.
    details.duplicates = (
      db
        .prepare('SELECT sender_id AS senderId, client_id AS clientId, count(*) AS count FROM messages WHERE client_id IS NOT NULL GROUP BY sender_id, client_id HAVING count(*) > 1')
        .all() as CheckDetails['duplicates']
    ).concat(
      db
        .prepare(
          'SELECT sender_id AS senderId, content AS clientId, count(*) AS count FROM messages WHERE content IS NOT NULL GROUP BY sender_id, content HAVING count(*) > 1',
        )
        .all() as CheckDetails['duplicates'],
    );

    // 3. Gapless seq per conversation, matching conversations.last_seq.
    let seqGaps = 0;
    let seqRepeats = 0;
    const convs = db.prepare('SELECT id, last_seq FROM conversations').all() as { id: number; last_seq: number }[];
    const seqsOf = db.prepare('SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq');
    for (const c of convs) {
      const seqs = (seqsOf.all(c.id) as { seq: number }[]).map((r) => r.seq);
      const have = new Set<number>();
      const repeated: number[] = [];
      const above: number[] = [];
      for (const q of seqs) {
        if (have.has(q)) repeated.push(q);
        have.add(q);
        if (q > c.last_seq || q < 1) above.push(q);
      }
      const missing: number[] = [];
      for (let q = 1; q <= c.last_seq; q++) if (!have.has(q)) missing.push(q);
      seqGaps += missing.length + above.length;
      seqRepeats += repeated.length;
      if (missing.length || repeated.length || above.length) details.gaps.push({ conversationId: c.id, lastSeq: c.last_seq, missing, repeated, above });
    }

    // 4. Files: every row's file on disk, every file on disk named by a row.
    const atts = db.prepare('SELECT stored_path, thumbnail_path FROM attachments').all() as { stored_path: string; thumbnail_path: string | null }[];
    const staticDir = path.join(filesRoot, 'static');
    const keys = new Set<string>();
    for (const a of atts) {
      for (const k of [a.stored_path, a.thumbnail_path]) {
        if (!k) continue;
        keys.add(k);
        const p = path.join(staticDir, k);
        if (!existsSync(p) || !statSync(p).isFile()) details.missing.push(k + (existsSync(p + '.part') ? ' (only its .part)' : ''));
      }
    }
    for (const f of walk(path.join(staticDir, 'chat_files'), staticDir)) if (!keys.has(f)) details.orphans.push(f);
    const fileMessagesWithoutFiles = (
      db
        .prepare(
          "SELECT count(*) AS n FROM messages m WHERE m.kind IN ('image', 'file', 'voice') AND m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.message_id = m.id)",
        )
        .get() as { n: number }
    ).n;

    const figures: CheckFigures = {
      integrity,
      messagesStored: (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n,
      attachmentsStored: atts.length,
      ackedButLost: details.lost.length,
      duplicates: details.duplicates.reduce((n, d) => n + d.count - 1, 0),
      seqGaps,
      seqRepeats,
      orphanFiles: details.orphans.length,
      missingFiles: details.missing.length,
      fileMessagesWithoutFiles,
      stagingLeft: walk(path.join(filesRoot, '.staging'), filesRoot).length,
    };
    return { figures, details };
  } finally {
    db.close();
  }
}
