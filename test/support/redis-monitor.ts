/**
 * Redis's own record of the commands it runs (MONITOR), timed by its clock: for a test that
 * must know when something happened in Redis, not when a loaded process got round to it.
 */
import { Redis } from 'ioredis';
import { release, track } from './resources.js';

export interface MonitoredCommand {
  /** When Redis ran it: milliseconds since the epoch, to the microsecond, by the server's clock. */
  at: number;
  /** The command and its arguments, e.g. ['SET', 'key', 'value']. */
  args: string[];
  /** Whether a Lua script ran it (MONITOR shows a script's commands right after the script's own line). */
  fromScript: boolean;
  /** The client's address (`host:port`), `lua` for a script's commands: which connection sent it. */
  client: string;
}

export interface CommandRecording {
  /** Stops recording; the commands kept, in the order Redis ran them. */
  stop(): Promise<MonitoredCommand[]>;
}

/** Records the commands `keep` accepts from now until stopped. */
export async function recordCommands(url: string, keep: (args: string[]) => boolean): Promise<CommandRecording> {
  const client = new Redis(url, { lazyConnect: true });
  const monitor = track(await client.monitor(), `MONITOR connection to ${url}`);
  const commands: MonitoredCommand[] = [];
  monitor.on('monitor', (time: string, args: string[], source: string) => {
    if (keep(args)) commands.push({ at: Number(time) * 1000, args, fromScript: source === 'lua', client: source });
  });
  return {
    async stop() {
      release(monitor);
      monitor.disconnect();
      client.disconnect();
      return commands;
    },
  };
}
