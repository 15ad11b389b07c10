import type { WebSocketConstructor } from '@parley/sdk';
import { runScenario } from './scenario.js';

// The Node side: PARLEY_URL and two identity-provider tokens in, the scenario's result out
// (one JSON line). Node 20 runs it with --experimental-websocket (22+ has WebSocket built in).
const result = await runScenario({
  baseUrl: process.env.PARLEY_URL!,
  tokens: [process.env.TOKEN_A!, process.env.TOKEN_B!],
  WebSocket: (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
});
console.log(JSON.stringify(result));
