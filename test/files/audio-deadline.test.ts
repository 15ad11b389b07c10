// A voice file whose duration takes too long to measure is refused at MEDIA_TIMEOUT_MS, on
// every path, and leaves nothing. The file: an MP3 frame header followed by 1 MB of 0xFF,
// on which music-metadata resyncs byte by byte; before it ran in a worker with a deadline,
// this upload took 39–42 s of the event loop's CPU (87 s to answer on a loaded machine).
import { describe, expect, it } from 'vitest';
import { useParley } from '../helpers/parley.js';
import { expectErrorFrame, fileEntry, mp3, sendFrom, settledFiles, storedFiles, upload, useRoom } from './support.js';

const DEADLINE_MS = 1000;
const TEXT = 'The audio could not be decoded: measuring it takes longer than 1 s';

function stuckMp3(): Buffer {
  const frame = Buffer.alloc(417);
  Buffer.from('fffb9000', 'hex').copy(frame);
  return Buffer.concat([frame, Buffer.alloc(1024 * 1024, 0xff)]);
}

describe('audio measuring has a deadline (MEDIA_TIMEOUT_MS)', () => {
  const server = useParley({ env: { MEDIA_TIMEOUT_MS: String(DEADLINE_MS) } });
  const r = useRoom(server);

  it('refused at the deadline through upload-files and the socket; nothing stored; the next voice file is measured', { timeout: 60_000 }, async () => {
    const before = await settledFiles(server);
    const bytes = stuckMp3();
    // Generous against a loaded machine, and far below what the parse itself takes (~40 s of CPU).
    const bound = DEADLINE_MS + 5000;

    let t0 = performance.now();
    const res = await upload(server, r.a, [{ bytes, name: 'voice.mp3', type: 'audio/mpeg' }], 'voice');
    expect(performance.now() - t0).toBeLessThan(bound);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: TEXT });

    t0 = performance.now();
    expectErrorFrame(await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(bytes, 'voice.mp3', 'audio/mpeg')] }, bound + 1000), 'invalid_file', TEXT);
    expect(performance.now() - t0).toBeLessThan(bound);
    expect(storedFiles(server)).toEqual(before);

    // The stuck worker was replaced, not left running: a real voice file goes through.
    const ok = await sendFrom(r, { message_type: 'voice', files_data: [fileEntry(mp3(100), 'fine.mp3', 'audio/mpeg')] });
    expect(ok.type, JSON.stringify(ok)).toBe('new_message');
    expect(ok.data.duration).toBeCloseTo(2.612, 2);
  });
});
