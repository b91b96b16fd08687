/**
 * A TCP server that speaks just enough RESP to pass for a Redis we cannot install (an old
 * version, say): it records every command it gets and answers with what `answer` returns,
 * an error for anything it does not know.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { release, track } from './resources.js';

/** A RESP reply: a string is sent as a bulk string, an Error as an error, null as a null bulk. */
export type StubReply = string | Error | null;

export interface StubRedis {
  url: string;
  /** Every command received, upper-cased name first, in order. */
  commands: string[][];
  close(): Promise<void>;
}

export async function startStubRedis(answer: (command: string[]) => StubReply | undefined): Promise<StubRedis> {
  const commands: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (let parsed = parseCommand(buffered); parsed; parsed = parseCommand(buffered)) {
        buffered = buffered.subarray(parsed.length);
        const command = [parsed.args[0]!.toUpperCase(), ...parsed.args.slice(1)];
        commands.push(command);
        const reply = answer(command);
        socket.write(encode(reply === undefined ? new Error(`ERR unknown command '${command[0]}'`) : reply));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const stub = {
    url: `redis://127.0.0.1:${port}`,
    commands,
    async close() {
      release(stub);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return track(stub, `stub Redis on port ${port}`);
}

function encode(reply: StubReply): string {
  if (reply === null) return '$-1\r\n';
  if (reply instanceof Error) return `-${reply.message}\r\n`;
  return `$${Buffer.byteLength(reply)}\r\n${reply}\r\n`;
}

/** One command (an array of bulk strings) from the start of `data`, or undefined while it is incomplete. */
function parseCommand(data: Buffer): { args: string[]; length: number } | undefined {
  const line = (from: number): { text: string; next: number } | undefined => {
    const end = data.indexOf('\r\n', from);
    return end === -1 ? undefined : { text: data.toString('utf8', from, end), next: end + 2 };
  };
  const header = line(0);
  if (!header) return undefined;
  if (!header.text.startsWith('*')) return { args: header.text.trim().split(/\s+/), length: header.next }; // an inline command
  const args: string[] = [];
  let at = header.next;
  for (let i = 0; i < Number(header.text.slice(1)); i++) {
    const size = line(at);
    if (!size) return undefined;
    const end = size.next + Number(size.text.slice(1));
    if (data.length < end + 2) return undefined;
    args.push(data.toString('utf8', size.next, end));
    at = end + 2;
  }
  return { args, length: at };
}
