#!/usr/bin/env node
// `npm start`: build if a source changed since the last build, then serve, in this one
// process (a second node start-up would add to every restart).
import { buildIfStale } from './build-if-stale.mjs';

buildIfStale();
const { runServer } = await import('../dist/main.js');
runServer();
