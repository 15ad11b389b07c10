import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexText, queryTerms, segmentedTerms, termsOf } from '../../src/backends/store/search-text.js';

describe('search text', () => {
  // The ASCII shortcut must cut exactly where ICU does: the index and a query may take
  // different paths for the same word (`Café` in a message, `cafe` typed).
  it('property: ASCII text gives the same words through the shortcut as through Intl.Segmenter', () => {
    const piece = fc.oneof(
      fc.constantFrom('a', 'Z', 'word', '3', '42', '_', '.', ',', ';', ':', "'", '-', ' ', '  ', '!', '/', '@', '#', '"', '(', ')', '\n', 'e.g.', 'U.S.A.', "don't", '3.14', '1,000', 'a_b', 'x:y'),
      fc.string({ unit: fc.constantFrom(...' abcXYZ019_.,;:\'-!?/\\@#$%^&*()[]{}<>~`"+=|\t\n'.split('')), maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        expect(termsOf(text), JSON.stringify(text)).toEqual(segmentedTerms(text));
      }),
      { numRuns: 2000, seed: 18 },
    );
  });

  it('folds case and accents the same way in a message and in a query', () => {
    expect(indexText('Café CAFÉ Straße ΣΟΦΟΣ Ａｂｃ مَرْحَبًا')).toBe('cafe cafe strasse σοφοσ abc مرحبا');
    expect(queryTerms('cafe  CAFE café')).toEqual(['cafe']);
    expect(indexText('', ['Quarterly_Report.pdf'])).toBe('quarterly_report.pdf quarterly report pdf');
    expect(indexText('party 🎉 time')).toBe('party 🎉 time');
  });
});
