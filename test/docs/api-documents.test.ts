import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DOCUMENTS_COPY, originalSeedsDir, seedsDir } from '../helpers/seeds.js';

// The five API documents Parley serves are kept in the repository (docs/api-documents/), so
// a fresh clone tests against them. Where the originals are at hand (shared/seeds beside the
// checkout), the copy must be theirs word for word.

const NAMES = ['000_0b243ca674924b87.txt', '001_1ea8d655181703b7.txt', '002_5ffdb96ecbffaeb8.txt', '003_5794173ac53da659.txt', '004_91000b3a2f05a685.txt'];

describe('the API documents', () => {
  it('are all in the repository, the tests read them there (unless PARLEY_SEEDS_DIR says otherwise), and they are the originals word for word', () => {
    expect(readdirSync(DOCUMENTS_COPY).filter((f) => f.endsWith('.txt')).sort()).toEqual(NAMES);
    if (!process.env.PARLEY_SEEDS_DIR) expect(seedsDir()).toBe(DOCUMENTS_COPY);
    // Beside the steering checkout (not in a clone elsewhere): the copy is the originals.
    const originals = originalSeedsDir();
    if (originals) for (const name of NAMES) expect(readFileSync(path.join(DOCUMENTS_COPY, name), 'utf8'), name).toBe(readFileSync(path.join(originals, name), 'utf8'));
  });
});
