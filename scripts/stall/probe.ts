// The stall probe of big-frames-lib.ts, in a process of its own so that what it measures is
// the server, not the work of the script that sends the big frames: opens URL, sends a ping
// every 20 ms while told to ("start" / "stop" lines on stdin), and prints each ping → pong
// time in ms, one per line ("stopped" after the last).
import WebSocket from 'ws';
import readline from 'node:readline';

const ws = new WebSocket(process.argv[2], { perMessageDeflate: false });
const sent: number[] = [];
let timer: NodeJS.Timeout | null = null;

ws.on('message', (d) => {
  if (!d.toString().startsWith('{"type":"pong"')) return;
  const t = sent.shift();
  if (t !== undefined) process.stdout.write(`${(performance.now() - t).toFixed(1)}\n`);
});
ws.on('open', () => process.stdout.write('open\n'));
ws.on('close', () => process.exit(0));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'start') {
    timer = setInterval(() => {
      sent.push(performance.now());
      ws.send('{"type":"ping"}');
    }, 20);
  } else if (line === 'stop') {
    if (timer) clearInterval(timer);
    const until = performance.now() + 5000;
    const drain = setInterval(() => {
      if (sent.length > 0 && performance.now() < until) return;
      clearInterval(drain);
      // Pings never answered count as stalled since they were sent.
      const now = performance.now();
      for (const t of sent.splice(0)) process.stdout.write(`${(now - t).toFixed(1)}\n`);
      process.stdout.write('stopped\n');
    }, 10);
  } else if (line === 'exit') ws.close();
});
