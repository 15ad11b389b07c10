import { runScenario, type ScenarioResult } from './scenario.js';

// The browser side, bundled by Vite: the page's own origin is the server; the tokens come in
// the URL's fragment. The result (or the error) lands on window for the test to read.
declare global {
  interface Window {
    scenario?: { result?: ScenarioResult; error?: string };
  }
}

const [tokenA, tokenB] = new URLSearchParams(location.hash.slice(1)).getAll('token');
runScenario({ baseUrl: '', tokens: [tokenA, tokenB] }).then(
  (result) => (window.scenario = { result }),
  (e: unknown) => (window.scenario = { error: String((e as Error)?.stack ?? e) }),
);
