import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Member, Message, SendKind } from '@parley/sdk';
import { formatDuration, formatSize, messageSummary } from '../format.js';
import { Icon } from '../icons.js';
import { isEmojiOnly } from '../linkify.js';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { toWav } from '../wav.js';
import { Avatar } from './Avatar.js';
import { pendingPreviews } from './Message.js';

export interface DraftFile {
  key: string;
  file: File;
  /** An object URL for images (the preview). */
  url: string | null;
}

export const MAX_FILES = 10;

export function draftFiles(files: Iterable<File>): DraftFile[] {
  return [...files].map((file) => ({
    key: `${file.name}-${file.size}-${Math.random()}`,
    file,
    url: file.type.startsWith('image/') ? URL.createObjectURL(file) : null,
  }));
}

const EMOJI: [string, string][] = [
  ['😀', 'grinning face'],
  ['😂', 'tears of joy'],
  ['😊', 'smiling face'],
  ['😍', 'heart eyes'],
  ['😎', 'sunglasses'],
  ['🤔', 'thinking'],
  ['😮', 'surprised'],
  ['😢', 'crying'],
  ['😡', 'angry'],
  ['🥳', 'party face'],
  ['👍', 'thumbs up'],
  ['👎', 'thumbs down'],
  ['👏', 'clapping'],
  ['🙏', 'folded hands'],
  ['💪', 'flexed biceps'],
  ['👋', 'waving hand'],
  ['❤️', 'red heart'],
  ['🔥', 'fire'],
  ['🎉', 'party popper'],
  ['✅', 'check mark'],
  ['👀', 'eyes'],
  ['💯', 'hundred points'],
  ['🚀', 'rocket'],
  ['☕', 'coffee'],
];

/** Unsent text per conversation, kept while you look elsewhere. */
const drafts = new Map<number, string>();

const mentionToken = (m: Member) => m.user.name.replace(/\s+/g, '');

interface MentionState {
  query: string;
  start: number;
  end: number;
  index: number;
}

export function Composer({
  conv,
  replyTo,
  editing,
  files,
  setFiles,
  onCancelReply,
  onCancelEdit,
  onEditLast,
}: {
  conv: Conversation;
  replyTo: Message | null;
  editing: Message | null;
  files: DraftFile[];
  setFiles: (f: DraftFile[]) => void;
  onCancelReply: () => void;
  onCancelEdit: () => void;
  onEditLast: () => void;
}) {
  const { client, toast } = useUi();
  const id = conv.id;
  const me = client.user;
  const [text, setText] = useState(() => drafts.get(id) ?? '');
  const [progress, setProgress] = useState<number | null>(null);
  const [mention, setMention] = useState<MentionState | null>(null);
  const [emojiOpen, setEmojiOpen] = useState(false);
  const [recordingSince, setRecordingSince] = useState<number | null>(null);
  const [, setNow] = useState(0);
  const ta = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const emojiButton = useRef<HTMLButtonElement>(null);
  const caretAfter = useRef<number | null>(null);
  const uploading = useRef<AbortController | null>(null);
  const recorder = useRef<{ rec: MediaRecorder; stream: MediaStream; chunks: Blob[] } | null>(null);
  const canPost = conv.kind !== 'channel' || conv.my_role !== 'member';

  useEffect(() => {
    drafts.set(id, text);
  }, [text]);

  // Edit mode takes the message's text; leaving it empties the box. A layout effect: the
  // text is in the box in the same frame as the "Editing message" banner, so a key pressed
  // right after the banner shows edits the message instead of racing the effect.
  const editingId = editing?.id ?? null;
  const mounted = useRef(false);
  useLayoutEffect(() => {
    if (editing) {
      setText(editing.content ?? '');
      caretAfter.current = (editing.content ?? '').length;
    }
    // Opening a conversation focuses the box, except on touch screens (no keyboard popping up).
    if (mounted.current || editing || matchMedia('(pointer: fine)').matches) ta.current?.focus();
    mounted.current = true;
  }, [editingId]);

  // The emoji picker: focus on its first emoji; a click elsewhere closes it.
  const picker = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!emojiOpen) return;
    picker.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const outside = (e: MouseEvent) => {
      if (!picker.current?.contains(e.target as Node) && !emojiButton.current?.contains(e.target as Node)) setEmojiOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [emojiOpen]);
  useEffect(() => {
    if (replyTo) ta.current?.focus();
  }, [replyTo?.id]);

  useLayoutEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
    if (caretAfter.current !== null) {
      el.setSelectionRange(caretAfter.current, caretAfter.current);
      caretAfter.current = null;
    }
  }, [text]);

  useEffect(() => {
    if (recordingSince === null) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [recordingSince]);

  // Stop the microphone when leaving the conversation mid-recording.
  useEffect(() => () => recorder.current?.stream.getTracks().forEach((t) => t.stop()), []);

  const candidates = mention
    ? conv.members
        .filter((m) => m.user.id !== me?.id)
        .filter((m) => {
          const q = mention.query.toLowerCase();
          return mentionToken(m).toLowerCase().startsWith(q) || m.user.email.toLowerCase().startsWith(q) || m.user.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q));
        })
        .slice(0, 6)
    : [];
  const mentionOpen = mention !== null && candidates.length > 0;

  const findMention = (value: string, caret: number) => {
    const m = /(?:^|[\s(])@([^\s@]*)$/.exec(value.slice(0, caret));
    setMention(m ? { query: m[1], start: caret - m[1].length - 1, end: caret, index: 0 } : null);
  };

  const insertMention = (m: Member) => {
    if (!mention) return;
    const token = `@${mentionToken(m)} `;
    const next = text.slice(0, mention.start) + token + text.slice(mention.end);
    caretAfter.current = mention.start + token.length;
    setText(next);
    setMention(null);
  };

  const insertEmoji = (emoji: string) => {
    const el = ta.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    setText(text.slice(0, start) + emoji + text.slice(end));
    caretAfter.current = start + emoji.length;
    setEmojiOpen(false);
    el?.focus();
  };

  const onInput = (e: Event) => {
    const el = e.currentTarget as HTMLTextAreaElement;
    setText(el.value);
    findMention(el.value, el.selectionStart);
    if (!editing) client.typing(id, el.value.trim() !== '');
  };

  const addFiles = (list: File[]) => {
    if (list.length === 0) return;
    const room = MAX_FILES - files.length;
    if (list.length > room) toast(`At most ${MAX_FILES} files per message`);
    setFiles([...files, ...draftFiles(list.slice(0, Math.max(0, room)))]);
  };

  /** Uploads files (with progress) and sends them in one message. */
  const sendFiles = async (list: DraftFile[], content: string | undefined, kind: SendKind, replyToId: number | undefined): Promise<boolean> => {
    setProgress(0);
    const abort = new AbortController();
    uploading.current = abort;
    try {
      const uploaded = await client.upload(
        list.map((f) => f.file),
        { onProgress: (p) => setProgress(p.total > 0 ? p.loaded / p.total : 1), signal: abort.signal },
      );
      const h = client.send(id, { content, kind, replyToId, attachments: uploaded.map((u) => u.key) });
      pendingPreviews.set(
        h.localTempId,
        list.map((f) => ({ name: f.file.name, url: f.url, kind: kind === 'voice' ? 'voice' : f.url ? 'image' : 'file' })),
      );
      return true;
    } catch (e) {
      toast(abort.signal.aborted ? 'Upload cancelled' : `The upload failed: ${errorText(e)}`);
      return false;
    } finally {
      uploading.current = null;
      setProgress(null);
    }
  };

  const submit = async () => {
    const content = text.trim();
    if (editing) {
      if (!content) return;
      onCancelEdit();
      setText('');
      if (content !== editing.content) client.edit(editing.id, content).catch((e) => toast(`Could not edit: ${errorText(e)}`));
      return;
    }
    if (!content && files.length === 0) return;
    if (progress !== null) return;
    const replyToId = replyTo?.id;
    setText('');
    setMention(null);
    onCancelReply();
    client.typing(id, false);
    if (files.length === 0) {
      client.send(id, { content, kind: isEmojiOnly(content) ? 'emoji' : 'text', replyToId });
      return;
    }
    const list = files;
    setFiles([]);
    const kind: SendKind = list.every((f) => f.file.type.startsWith('image/')) ? 'image' : 'file';
    if (!(await sendFiles(list, content || undefined, kind, replyToId))) {
      // Nothing was sent: the files and the text come back.
      setFiles(list);
      setText((t) => t || content);
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (mentionOpen && mention) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = candidates.length;
        setMention({ ...mention, index: (mention.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        insertMention(candidates[Math.min(mention.index, candidates.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setMention(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
      return;
    }
    if (e.key === 'Escape') {
      if (editing) {
        e.preventDefault();
        onCancelEdit();
        setText('');
      } else if (replyTo) {
        e.preventDefault();
        onCancelReply();
      }
      return;
    }
    if (e.key === 'ArrowUp' && text === '' && !editing) {
      e.preventDefault();
      onEditLast();
    }
  };

  const onPaste = (e: ClipboardEvent) => {
    const list = [...(e.clipboardData?.files ?? [])];
    if (list.length === 0) return;
    e.preventDefault();
    addFiles(list);
  };

  const startRecording = async () => {
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
      toast('Recording is not supported in this browser');
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      toast('The microphone is not available');
      return;
    }
    const rec = new MediaRecorder(stream);
    const chunks: Blob[] = [];
    rec.ondataavailable = (ev) => ev.data.size > 0 && chunks.push(ev.data);
    rec.start(250);
    recorder.current = { rec, stream, chunks };
    setRecordingSince(Date.now());
  };

  const stopRecording = async (send: boolean) => {
    const r = recorder.current;
    recorder.current = null;
    setRecordingSince(null);
    if (!r) return;
    const stopped = new Promise((res) => (r.rec.onstop = res));
    r.rec.stop();
    await stopped;
    r.stream.getTracks().forEach((t) => t.stop());
    if (!send || r.chunks.length === 0) return;
    let wav: Blob;
    try {
      wav = (await toWav(new Blob(r.chunks, { type: r.rec.mimeType }))).wav;
    } catch (e) {
      toast(`The recording could not be read: ${errorText(e)}`);
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = new File([wav], `voice-message-${stamp}.wav`, { type: 'audio/wav' });
    const replyToId = replyTo?.id;
    onCancelReply();
    await sendFiles([{ key: 'voice', file, url: null }], undefined, 'voice', replyToId);
  };

  if (!canPost) return <p class="composer-readonly">Only admins and moderators post in this channel.</p>;

  const recording = recordingSince !== null;
  const pct = progress === null ? 0 : Math.round(progress * 100);
  return (
    <form
      class="composer"
      aria-label="Write a message"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {(replyTo || editing) && (
        <div class="composer-context" data-testid={editing ? 'editing-banner' : 'reply-banner'}>
          <span class="context-label">
            {editing ? 'Editing message' : `Replying to ${replyTo!.sender.name}`}
            <span class="context-text">{messageSummary((editing ?? replyTo)!)}</span>
          </span>
          <button
            type="button"
            class="icon-button small"
            aria-label={editing ? 'Cancel editing' : 'Cancel reply'}
            onClick={() => {
              if (editing) {
                onCancelEdit();
                setText('');
              } else onCancelReply();
            }}
          >
            <Icon name="close" size={16} />
          </button>
        </div>
      )}
      {files.length > 0 && (
        <ul class="drafts" aria-label="Files to send" data-testid="draft-files">
          {files.map((f) => (
            <li key={f.key} class="draft">
              {f.url ? <img src={f.url} alt={f.file.name} /> : <Icon name="file" size={28} />}
              <span class="draft-name">{f.file.name}</span>
              <small>{formatSize(f.file.size)}</small>
              <button
                type="button"
                class="chip-x"
                aria-label={`Remove ${f.file.name}`}
                onClick={() => {
                  if (f.url) URL.revokeObjectURL(f.url);
                  setFiles(files.filter((x) => x !== f));
                }}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {progress !== null && (
        <div class="upload">
          <div class="progress" role="progressbar" aria-label="Uploading" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} data-testid="upload-progress">
            <div class="progress-bar" style={{ width: `${pct}%` }} />
          </div>
          <button type="button" class="icon-button small" aria-label="Cancel upload" onClick={() => uploading.current?.abort()}>
            <Icon name="close" size={16} />
          </button>
        </div>
      )}
      {mentionOpen && (
        <ul class="mentions" role="listbox" id={`mentions-${id}`} aria-label="Mention someone" data-testid="mention-list">
          {candidates.map((m, i) => (
            <li
              key={m.user.id}
              id={`mention-${id}-${m.user.id}`}
              role="option"
              aria-selected={i === mention!.index}
              class={i === mention!.index ? 'active' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                insertMention(m);
              }}
            >
              <Avatar id={m.user.id} name={m.user.name} />
              <span>{m.user.name}</span>
              <small>@{mentionToken(m)}</small>
            </li>
          ))}
        </ul>
      )}
      {emojiOpen && (
        <div
          ref={picker}
          class="emoji-picker"
          role="dialog"
          aria-label="Emoji"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setEmojiOpen(false);
              emojiButton.current?.focus();
            }
          }}
        >
          {EMOJI.map(([e, name]) => (
            <button key={e} type="button" aria-label={name} title={name} onClick={() => insertEmoji(e)}>
              {e}
            </button>
          ))}
        </div>
      )}
      <div class="composer-row">
        {recording ? (
          <div class="recording" role="status" data-testid="recording">
            <span class="rec-dot" aria-hidden="true" />
            Recording {formatDuration((Date.now() - recordingSince) / 1000)}
            <span class="spacer" />
            <button type="button" class="text-button" onClick={() => void stopRecording(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <>
            <button
              ref={emojiButton}
              type="button"
              class="icon-button"
              aria-label="Insert emoji"
              aria-expanded={emojiOpen}
              onClick={() => setEmojiOpen(!emojiOpen)}
            >
              <Icon name="smile" />
            </button>
            <button type="button" class="icon-button" aria-label="Attach files" onClick={() => fileInput.current?.click()}>
              <Icon name="attach" />
            </button>
            <input
              ref={fileInput}
              class="sr-only"
              type="file"
              multiple
              tabIndex={-1}
              aria-label="Choose files to attach"
              data-testid="file-input"
              onChange={(e) => {
                const input = e.currentTarget;
                addFiles([...(input.files ?? [])]);
                input.value = '';
              }}
            />
            <label for={`composer-${id}`} class="sr-only">
              Message
            </label>
            <textarea
              id={`composer-${id}`}
              ref={ta}
              rows={1}
              placeholder={editing ? 'Edit your message' : 'Write a message'}
              value={text}
              maxLength={5000}
              aria-autocomplete="list"
              aria-controls={mentionOpen ? `mentions-${id}` : undefined}
              aria-activedescendant={mentionOpen ? `mention-${id}-${candidates[mention!.index]?.user.id}` : undefined}
              data-testid="composer-input"
              onInput={onInput}
              onKeyDown={onKeyDown}
              onPaste={onPaste}
              onBlur={() => {
                setMention(null);
                client.typing(id, false);
              }}
              onClick={(e) => findMention(e.currentTarget.value, e.currentTarget.selectionStart)}
            />
          </>
        )}
        {recording ? (
          <button type="button" class="icon-button send" aria-label="Stop and send voice message" onClick={() => void stopRecording(true)}>
            <Icon name="send" />
          </button>
        ) : text.trim() || files.length > 0 || editing ? (
          <button type="submit" class="icon-button send" aria-label={editing ? 'Save changes' : 'Send'} disabled={progress !== null} data-testid="send-button">
            <Icon name="send" />
          </button>
        ) : (
          <button type="button" class="icon-button" aria-label="Record voice message" onClick={() => void startRecording()} disabled={progress !== null}>
            <Icon name="mic" />
          </button>
        )}
      </div>
    </form>
  );
}
