// What-if experiment only: coalesces every frame a WebSocket sends within one tick of the
// event loop into one socket write (one writev syscall), by corking the TCP socket at the
// first send of a tick and uncorking it on process.nextTick. ws corks around each frame
// itself; corks nest, so only the outer uncork flushes. Shows what batching the writes of a
// group-commit batch (Hub/Connection) would save, without touching src/:
//   npm run bench -- --servers parley --node-args "--import ./bench/preload/ws-cork.mjs"
import { createRequire } from 'node:module';

const WebSocket = createRequire(`${process.cwd()}/package.json`)('ws');
const send = WebSocket.prototype.send;
const corked = new Set();
let scheduled = false;
const flush = () => {
  scheduled = false;
  for (const s of corked) s.uncork();
  corked.clear();
};
WebSocket.prototype.send = function (data, options, cb) {
  const sock = this._socket;
  if (sock && !corked.has(sock)) {
    sock.cork();
    corked.add(sock);
    if (!scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  }
  return send.call(this, data, options, cb);
};
process.stderr.write('[bench preload] ws sends corked per tick\n');
