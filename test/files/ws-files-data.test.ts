// Document 001, "Send File Message (Single or Multiple)": files_data, up to 10 files per
// message; each stored as static/chat_files/<folder>/{user_id}_{timestamp}_{index}_{name};
// rendered back in files_data with full URLs in file_path.
import { describe, expect, it } from 'vitest';
import { chatHistory } from '../helpers/clients.js';
import { useParley } from '../helpers/parley.js';
import { databases, download, fileEntry, image, onServer, pdf, sendFrom, storedFiles, wav, useRoom } from './support.js';

describe.each(databases)('files_data over the socket (001) on %s', (db) => {
  const server = useParley({ db });
  const r = useRoom(server);

  it('four images of the four allowed formats arrive in order, named by the documents convention', async () => {
    const files = [await image('jpeg', 40, 30), await image('png', 41, 31), await image('gif', 42, 32), await image('webp', 43, 33)];
    const names = ['photo1.jpg', 'photo2.png', 'anim.gif', 'pic.webp'];
    const mimes = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
    const ack = await sendFrom(r, {
      message_type: 'image',
      content: 'Here are some photos!',
      files_data: files.map((f, i) => fileEntry(f, names[i], mimes[i], { duration: null })),
    });
    expect(ack.type).toBe('new_message');
    const m = ack.data;
    expect(m.local_temp_id).toMatch(/^f_/);
    expect(m.files_data).toHaveLength(4);
    m.files_data.forEach((f: any, i: number) => {
      expect(f).toMatchObject({ file_name: names[i], file_size: files[i].length, mime_type: mimes[i], duration: null, width: 40 + i, height: 30 + i });
      // {user_id}_{timestamp}_{index}_{original}, a full URL
      expect(f.file_path).toMatch(new RegExp(`^https?://[^/]+/static/chat_files/images/${r.a.user.id}_\\d+_${i}_${names[i].replace('.', '\\.')}\\?`));
    });
    // 000's single-file keys describe the first file.
    expect(m).toMatchObject({ file_name: 'photo1.jpg', mime_type: 'image/jpeg', file_size: files[0].length });

    const got = await r.sb.next('new_message', { where: (f) => f.data.id === m.id });
    for (let i = 0; i < 4; i++) {
      const res = await download(server, onServer(server, got.data.files_data[i].file_path));
      expect(res.status).toBe(200);
      expect(res.bytes.equals(files[i])).toBe(true);
      expect(res.headers.get('content-type')).toBe(mimes[i]);
    }
  });

  it('a file message may carry documents and images together, each in its own folder', async () => {
    const doc = pdf();
    const png = await image('png');
    const text = Buffer.from('plain notes\nline two\n', 'utf8');
    const ack = await sendFrom(r, {
      message_type: 'file',
      files_data: [fileEntry(doc, 'plan.pdf', 'application/pdf'), fileEntry(png, 'shot.png', 'image/png'), fileEntry(text, 'notes.txt', 'text/plain')],
    });
    expect(ack.type).toBe('new_message');
    const paths = ack.data.files_data.map((f: any) => new URL(f.file_path).pathname);
    expect(paths[0]).toMatch(/^\/static\/chat_files\/files\/\d+_\d+_0_plan\.pdf$/);
    expect(paths[1]).toMatch(/^\/static\/chat_files\/images\/\d+_\d+_1_shot\.png$/);
    expect(paths[2]).toMatch(/^\/static\/chat_files\/files\/\d+_\d+_2_notes\.txt$/);
    expect(ack.data.files_data[2].mime_type).toBe('text/plain');
  });

  it('without message_type the kind follows the first file; a voice message carries its measured duration', async () => {
    const voice = wav(1.5);
    const ack = await sendFrom(r, { files_data: [fileEntry(voice, 'voice_message.wav', 'audio/wav', { duration: 30 })] });
    expect(ack.type).toBe('new_message');
    expect(ack.data.message_type).toBe('voice');
    expect(ack.data.duration).toBe(1.5);
    expect(ack.data.files_data[0]).toMatchObject({ mime_type: 'audio/wav', duration: 1.5 });
    expect(new URL(ack.data.files_data[0].file_path).pathname).toMatch(/^\/static\/chat_files\/voices\//);
  });

  it('history renders the same files_data, with fresh signed URLs', async () => {
    const { messages } = await chatHistory(server, r.b, r.room);
    const withFiles = messages.filter((m) => m.files_data);
    expect(withFiles.map((m) => m.files_data.length)).toEqual([4, 3, 1]);
    expect(messages.every((m) => m.local_temp_id === null)).toBe(true);
    const res = await download(server, onServer(server, withFiles[0].files_data[1].file_path));
    expect(res.status).toBe(200);
    expect(storedFiles(server).filter((f) => !f.includes('thumbnails')).length).toBe(8);
  });
});
