#!/usr/bin/env node
// The floor for `npm run bench`: a bare `ws` relay with no persistence, the same semantics as
// the shared harness's servers/floor-ws.mjs. Clients connect to ws://HOST:PORT/?user=U&room=R;
// each text frame a client sends is relayed, as is, to the other members of its room. No auth,
// no storage, no acks, no parsing of the payload: the upper bound for a Node + ws chat server.
// A room has any number of members: the bench connects the members of group g (a pair is a
// group of 2) with `room=g<g>`, so a frame fans out to the M − 1 other members, one ws send
// (one write) per socket. The floor never echoes a frame to its sender: it has no ack.
//
//   node bench/floor-relay.mjs [--port 0] [--host 127.0.0.1] [--backlog N]
// Prints `LISTENING <port> <pid>` once it accepts connections; exits at once on SIGTERM/SIGINT.
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.lastIndexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(opt('port', process.env.PORT ?? 0));
const host = opt('host', process.env.HOST ?? '127.0.0.1');
// listen(2)'s backlog: Node's 511 unless given (bench:storm gives Parley's LISTEN_BACKLOG).
const backlog = opt('backlog', undefined);

/** room -> Set of sockets */
const rooms = new Map();

const wss = new WebSocketServer({ host, port, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024, ...(backlog ? { backlog: Number(backlog) } : {}) });

wss.on('connection', (ws, req) => {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const room = q.get('room') ?? '';
  let members = rooms.get(room);
  if (!members) rooms.set(room, (members = new Set()));
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    for (const peer of members) if (peer !== ws && peer.readyState === 1) peer.send(data, { binary: false });
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
});

wss.on('listening', () => console.log(`LISTENING ${wss.address().port} ${process.pid}`));

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
