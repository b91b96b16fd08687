// A TCP relay that holds every chunk for a fixed delay in each direction: network latency
// in user space, for machines whose kernel has no netem qdisc (`tc qdisc ... netem` fails
// with "Specified qdisc kind is unknown"). Chunks keep their order (Node runs timers of
// equal delay in the order they were set); a late timer only adds delay.
//
//   node bench/delay-relay.mjs LISTEN_PORT TARGET_HOST:PORT DELAY_MS
import { createConnection, createServer } from 'node:net';

const [listenPort, target, delayMs] = process.argv.slice(2);
const [targetHost, targetPort] = target.split(':');
const delay = Number(delayMs);

// setTimeout(fn, 0) waits 1 ms in Node: with no delay, pass chunks on at once.
const later = delay > 0 ? (fn) => setTimeout(fn, delay) : (fn) => fn();

/** Copies `from` to `to`, each chunk `delay` ms late; ends and errors follow the same way. */
function pipeLate(from, to) {
  from.on('data', (chunk) => later(() => to.write(chunk)));
  from.on('end', () => later(() => to.end()));
  from.on('error', () => to.destroy());
  from.on('close', () => later(() => to.destroy()));
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = createConnection({ host: targetHost, port: Number(targetPort) });
  upstream.setNoDelay(true);
  pipeLate(client, upstream);
  pipeLate(upstream, client);
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write('relaying\n'));
process.on('SIGTERM', () => process.exit(0));
