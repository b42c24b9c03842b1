// Slow HTTP clients for the health-server flood tests: COUNT connections to 127.0.0.1:PORT, each sending
// a request one byte every INTERVAL ms and never finishing it (slowloris). A connection the server
// closes is opened again, so the pressure stays. Prints "ready" once COUNT connects were attempted, and
// one JSON line of figures on SIGTERM.
//
//   node slow-clients.mjs PORT COUNT INTERVAL_MS
import { connect } from 'node:net';

const [port, count, interval] = process.argv.slice(2).map(Number);
const request = 'GET /healthz HTTP/1.1\r\nHost: health\r\nX-Slow: ' + 'x'.repeat(4096);
const stats = { attempts: 0, connected: 0, closedByServer: 0, errors: 0, maxOpen: 0 };
let open = 0;
let stopping = false;

function start() {
  if (stopping) return;
  stats.attempts += 1;
  const socket = connect({ host: '127.0.0.1', port });
  let sent = 0;
  let timer;
  socket.on('connect', () => {
    stats.connected += 1;
    open += 1;
    stats.maxOpen = Math.max(stats.maxOpen, open);
    timer = setInterval(() => {
      if (sent < request.length) socket.write(request[sent++]);
    }, interval);
  });
  socket.on('error', () => (stats.errors += 1));
  socket.on('close', () => {
    if (timer !== undefined) {
      clearInterval(timer);
      open -= 1;
      if (!stopping) stats.closedByServer += 1;
    }
    // Open another in its place, a little later so a refusing server is not spun against.
    if (!stopping) setTimeout(start, 20);
  });
  socket.on('data', () => undefined);
}

for (let index = 0; index < count; index += 1) start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  process.exit(0);
});
