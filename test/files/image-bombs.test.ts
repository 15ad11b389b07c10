// The CI form of `npm run stall` (scripts/stall): a Parley process on SQLite gets a 600 KB
// PNG that claims 10 000 × 10 000 16-bit pixels (600 MB decoded), once and twice at once,
// over upload-files and over the socket, and then four large allowed JPEGs at once. Measured
// from /proc: before the header check and the media pool, each bomb was accepted after
// decoding (642 MB peak, 1.5 s CPU; two at once 0.9–1.1 GB) and the four JPEGs peaked at
// 256 MB; now the bombs are refused from their header in milliseconds and the JPEGs are
// decoded one at a time.
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { formatImageBombReport, runImageBombs, SHORT_PHASES } from '../../scripts/stall/image-bombs.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('image bombs against a running server (npm run stall, short form)', () => {
  it('refused from the header, fast, in bounded memory, leaving nothing; allowed images decoded one at a time', { timeout: 180_000 }, async () => {
    const report = await runImageBombs({ root, phases: [...SHORT_PHASES, 'jpeg-http-4'], answerTimeoutMs: 30_000 });
    const text = formatImageBombReport(report);
    console.log(text);
    for (const p of report.phases) {
      expect(p.rssGrowthMb, `${p.phase}\n${text}`).toBeLessThan(200);
      if (p.phase === 'jpeg-http-4') {
        expect(p.answers, text).toEqual(['200', '200', '200', '200']);
        continue;
      }
      expect(p.answeredMs, `${p.phase}\n${text}`).toBeLessThan(1000);
      for (const a of p.answers) expect(a, `${p.phase}\n${text}`).toMatch(/^(400|error) The image could not be decoded: 10000×10000 pixels is more than 40000000 pixels$/);
    }
    // Only the four accepted JPEGs and their thumbnails.
    expect(report.storedFiles, text).toBe(8);
  });
});
