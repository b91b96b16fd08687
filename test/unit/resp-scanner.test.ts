/**
 * The reply-dropping proxy matches replies to commands by counting frames, so a frame end
 * found one byte off, or a reply counted twice, would cut the wrong command. Each stream
 * below is written out by hand with its frame ends, and fed split at every byte.
 */
import { describe, expect, it } from 'vitest';
import { RespScanner } from '../support/resp-scanner.js';

/** Frames as they travel, each with what the scanner must say of it. */
const REPLIES: { bytes: string; push: boolean }[] = [
  { bytes: '+OK\r\n', push: false },
  { bytes: '-ERR value is not an integer\r\n', push: false },
  { bytes: ':42\r\n', push: false },
  { bytes: '$5\r\nhe\r\no\r\n', push: false }, // a CRLF inside a bulk string is data
  { bytes: '$-1\r\n', push: false },
  { bytes: '$0\r\n\r\n', push: false },
  { bytes: '*-1\r\n', push: false },
  { bytes: '*0\r\n', push: false },
  { bytes: '*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n', push: false },
  { bytes: '%2\r\n$1\r\nk\r\n,1.5\r\n+m\r\n~2\r\n#t\r\n_\r\n', push: false },
  { bytes: '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', push: true },
  { bytes: '(3492890328409238509324850943850943825024385\r\n', push: false },
  { bytes: '!21\r\nSYNTAX invalid syntax\r\n', push: false },
  { bytes: '=15\r\ntxt:Some string\r\n', push: false },
  { bytes: '|1\r\n+ttl\r\n:3600\r\n*2\r\n:1\r\n:2\r\n', push: false }, // an attribute, then its reply
  { bytes: '*2\r\n|1\r\n+a\r\n:1\r\n:7\r\n:8\r\n', push: false }, // an attribute inside an array is no element
];

function scanSplitAt(scanner: RespScanner, bytes: Buffer, cut: number) {
  const ends: { end: number; push: boolean; args: string[] }[] = [];
  for (const [offset, part] of [
    [0, bytes.subarray(0, cut)],
    [cut, bytes.subarray(cut)],
  ] as const) {
    for (const frame of scanner.scan(part)) {
      ends.push({ end: offset + frame.end, push: frame.push, args: frame.args.map((arg) => arg.toString()) });
    }
  }
  return ends;
}

describe('finding RESP frames in a split stream', () => {
  it('ends each RESP2 and RESP3 reply where it ends, wherever the stream is split', () => {
    const stream = Buffer.from(REPLIES.map(({ bytes }) => bytes).join(''), 'latin1');
    let end = 0;
    const expected = REPLIES.map(({ bytes, push }) => ({ end: (end += bytes.length), push, args: [] }));
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(scanSplitAt(new RespScanner({ captureArgs: 0, inline: false }), stream, cut), `split at ${cut}`).toEqual(expected);
    }
  });

  it('reads the first arguments of pipelined and inline commands, and skips the rest', () => {
    const commands = [
      '*3\r\n$7\r\nEVALSHA\r\n$4\r\nabcd\r\n$1\r\n0\r\n',
      'PING hello\r\n',
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n',
    ];
    const stream = Buffer.from(commands.join(''), 'latin1');
    const ends = [commands[0]!.length, commands[0]!.length + commands[1]!.length, stream.length];
    const args = [
      ['EVALSHA', 'abcd'],
      ['PING', 'hello'],
      ['SET', 'k'],
    ];
    for (let cut = 0; cut <= stream.length; cut++) {
      const frames = scanSplitAt(new RespScanner({ captureArgs: 2, inline: true }), stream, cut);
      expect(frames, `split at ${cut}`).toEqual(ends.map((end, index) => ({ end, push: false, args: args[index] })));
    }
  });

  it('refuses bytes that are not RESP rather than miscount', () => {
    expect(() => new RespScanner({ captureArgs: 0, inline: false }).scan(Buffer.from('hello\r\n'))).toThrow(/RESP protocol error/);
    expect(() => new RespScanner({ captureArgs: 0, inline: false }).scan(Buffer.from('$x\r\n'))).toThrow(/bad length/);
  });
});
