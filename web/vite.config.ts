import { defaultClientConditions, defineConfig } from 'vite';
import preact from '@preact/preset-vite';

// The web client, built into web/dist and served by Parley at `/` (src/http/web.ts).
// `npm run dev:web` serves it with hot reload and proxies the API to a Parley on :8000.
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  plugins: [preact()],
  // @parley/sdk from its sources (the workspace package's exports), no SDK build needed.
  resolve: { conditions: ['@parley/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    // The page imports the SDK (@parley/sdk) from ../sdk/src.
    fs: { allow: ['..'] },
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', ws: true },
      '/files': 'http://127.0.0.1:8000',
      '/docs': 'http://127.0.0.1:8000',
    },
  },
});
