#!/usr/bin/env node
// `npm start`: build if a source changed since the last build, then serve, in this one
// process (a second node start-up would add to every restart). It serves the bundle of
// dist/main.js (scripts/bundle-server.mjs): one file loads in a fraction of the time of the
// modules it holds.
import { buildIfStale } from './build-if-stale.mjs';

buildIfStale();
const { runServer } = await import('../dist/bundle/main.js');
runServer();
