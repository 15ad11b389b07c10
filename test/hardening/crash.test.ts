import { afterAll, describe, expect, it } from 'vitest';
import { formatCrashReport, runCrash } from '../../scripts/crash/crash.js';
import { pdf } from '../../scripts/crash/client.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { chatSocket, pair } from '../helpers/clients.js';
import { ciForm } from '../helpers/ci-form.js';

// The CI form of `npm run crash` (scripts/crash): one Parley process on SQLite, SIGKILLed and
// restarted 5 times (3 in CI) while clients send text and file messages; nothing acknowledged is lost,
// nothing is stored twice, seq stays gapless, every file is where its row says and no file
// is left without a row.

const KILLS = ciForm(5, 3);

describe('crash safety on SQLite (npm run crash, short form)', () => {
  it(`${KILLS} SIGKILLs: every ack in the database, no duplicate, no gap, no orphan or missing file, integrity ok`, { timeout: 120_000 }, async () => {
    const report = await runCrash({ kills: KILLS, seed: 7, clients: 4, rate: 15, fileShare: 0.2, minUpMs: 300, maxUpMs: 1_200, catchupTimeoutS: 20 });
    const text = formatCrashReport(report);
    console.log(text);
    const f = report.figures;
    expect(report.killsSurvived, text).toBe(KILLS);
    expect(report.acked, text).toBeGreaterThan(0);
    expect(report.fileMessagesAcked, text).toBeGreaterThan(0);
    expect(f.integrity, text).toBe('ok');
    expect(f.ackedButLost, text).toBe(0);
    expect(f.duplicates, text).toBe(0);
    expect(f.seqGaps, text).toBe(0);
    expect(f.seqRepeats, text).toBe(0);
    expect(f.orphanFiles, text).toBe(0);
    expect(f.missingFiles, text).toBe(0);
    expect(f.fileMessagesWithoutFiles, text).toBe(0);
    expect(report.unacked, text).toBe(0);
    expect(report.failed, text).toBe(0);
    expect(report.ackMismatches, text).toBe(0);
    expect(report.catchupTimedOut, text).toBe(false);
    expect(report.passed, text).toBe(true);
  });
});

describe('a retried send after a lost ack (what a crash between commit and ack leaves)', () => {
  let server: TestServer | undefined;
  afterAll(async () => server?.close());

  // Found by the crash script: the retry was refused with upload_not_found (the upload was
  // attached already) instead of answered with the original message.
  it('a send naming an uploaded file_path, sent again with the same local_temp_id, returns the original (delivery contract 3)', async () => {
    server = await startParley();
    const { a, room } = await pair(server);
    const form = new FormData();
    form.append('message_type', 'file');
    form.append('files', new Blob([pdf('retry', 3000)], { type: 'application/pdf' }), 'retry.pdf');
    const up = await fetch(server.url + '/api/chat/upload-files', { method: 'POST', headers: { authorization: `Bearer ${a.token}` }, body: form });
    expect(up.status).toBe(200);
    const filePath = ((await up.json()) as { files: { file_path: string }[] }).files[0].file_path;
    const frame = { type: 'send_message', data: { room_id: room, message_type: 'file', content: 'with a file', local_temp_id: 'retry-1', files_data: [{ file_path: filePath }] } };

    const s1 = await chatSocket(server, a, room);
    s1.send(frame);
    const first = await s1.next('new_message', { where: (f) => f.data?.local_temp_id === 'retry-1' });
    s1.close();

    // The ack was lost (the process died after the commit): the client sends it again, same local_temp_id.
    const s2 = await chatSocket(server, a, room);
    s2.send(frame);
    const again = await s2.next(null, { where: (f) => f.type === 'error' || (f.type === 'new_message' && f.data?.local_temp_id === 'retry-1') });
    s2.close();
    expect(again.type, JSON.stringify(again)).toBe('new_message');
    expect(again.data.id).toBe(first.data.id);
    expect(again.data.seq).toBe(first.data.seq);
  });
});
