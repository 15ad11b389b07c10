import { defaultServerConditions } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';

// Chromium suites: the web client's, and the packed SDK's (its page half).
const BROWSER = ['test/e2e/web/**/*.test.ts', 'test/sdk/package.test.ts'];
const TIMING = ['test/timing/**/*.test.ts'];

export default defineConfig({
  // Tests import @parley/sdk from its sources (sdk/package.json exports), no SDK build needed.
  ssr: { resolve: { conditions: ['@parley/source', ...defaultServerConditions] } },
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'server', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...BROWSER, ...TIMING], sequence: { groupOrder: 0 } } },
      // The browser suite runs last and alone: chromium, the page and the server then have
      // the machine's cores to themselves, not a share of them with the fuzz and fault runs.
      { extends: true, test: { name: 'browser', include: BROWSER, fileParallelism: false, sequence: { groupOrder: 1 } } },
      // Start-up times are measured last, one file at a time, on an otherwise idle machine.
      { extends: true, test: { name: 'timing', include: TIMING, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
