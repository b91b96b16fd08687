/**
 * Hosts for the multi-host tests, made of Linux network namespaces: one "redis" host and
 * two worker hosts, each worker host joined to the Redis host by a veth pair of its own,
 * and the root namespace (where the test runs and submits) joined to it by a third. Every
 * link is a /30 of a private range picked at random, so the addresses exist only inside
 * the test; names carry a random id, so runs never collide. The hosts share the
 * filesystem, as machines share a network folder.
 *
 *   root (test) ──link "root"──┐
 *   w1 ─────────link "w1"──────┤ redis
 *   w2 ─────────link "w2"──────┘
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export type HostName = 'w1' | 'w2';
export type LinkName = 'root' | HostName;

interface Link {
  /** The veth end on the far side (root namespace or worker host), and its namespace (undefined: root). */
  device: string;
  namespace: string | undefined;
  /** The veth end in the Redis host. */
  redisDevice: string;
  /** Redis's address as the far side reaches it. */
  redisAddress: string;
}

export interface TestNetwork {
  /** The namespace of the Redis host and of each worker host. */
  readonly redisNamespace: string;
  readonly hostNamespace: Record<HostName, string>;
  /** The address of Redis as seen from the root namespace or a worker host (its own link). */
  redisAddress(from: LinkName): string;
  /** Takes a link down (a cable pulled) or up again. */
  setLink(name: LinkName, up: boolean): void;
  /** Adds `ms` of netem delay to every packet leaving either end of every link (0 removes it); throws where the kernel has no netem. */
  setDelay(ms: number): void;
  /** Kills what runs in the hosts and removes them; safe to call more than once, or after a failed build. */
  destroy(): void;
}

/** Runs `ip`/`tc`; throws with its error output when it fails. */
function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `ip` inside a namespace (or the root one). */
function ip(namespace: string | undefined, args: string[]): string {
  return run('ip', namespace === undefined ? args : ['-n', namespace, ...args]);
}

/**
 * What this machine lacks to build hosts (root, `ip netns`, veth pairs), as sentences;
 * empty when it can. Tries it for real, with a namespace of its own.
 */
export function missingForHosts(): string[] {
  if (process.getuid?.() !== 0) return ['root: creating network namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)'];
  const id = randomBytes(3).toString('hex');
  const namespace = `redmap-probe-${id}`;
  try {
    ip(undefined, ['netns', 'add', namespace]);
    ip(undefined, ['link', 'add', `rmp${id}`, 'type', 'veth', 'peer', 'name', `rmq${id}`]);
    ip(undefined, ['link', 'set', `rmq${id}`, 'netns', namespace]);
    return [];
  } catch (error) {
    return [`network namespaces and veth pairs: ${(error as Error).message}`];
  } finally {
    spawnSync('ip', ['link', 'del', `rmp${id}`], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  }
}

/**
 * Why netem delay cannot be added on this machine (what `tc` said, and what the kernel
 * lacks), or undefined when it can. Tries it on the network's links, and leaves them without.
 */
export function missingNetem(network: TestNetwork): string | undefined {
  try {
    network.setDelay(1);
    network.setDelay(0);
    return undefined;
  } catch (error) {
    network.setDelay(0);
    return `${(error as Error).message} (the kernel needs the netem qdisc: CONFIG_NET_SCH_NETEM, module sch_netem)`;
  }
}

export function createTestNetwork(): TestNetwork {
  const id = randomBytes(2).toString('hex');
  const redisNamespace = `redmap-${id}-redis`;
  const hostNamespace: Record<HostName, string> = { w1: `redmap-${id}-w1`, w2: `redmap-${id}-w2` };
  const subnet = freePrivateSubnet();
  const links: Record<LinkName, Link> = {
    root: { device: `rm${id}a0`, namespace: undefined, redisDevice: `rm${id}a1`, redisAddress: `${subnet}.2` },
    w1: { device: `rm${id}b0`, namespace: hostNamespace.w1, redisDevice: `rm${id}b1`, redisAddress: `${subnet}.6` },
    w2: { device: `rm${id}c0`, namespace: hostNamespace.w2, redisDevice: `rm${id}c1`, redisAddress: `${subnet}.10` },
  };
  let delayed = false;

  const network: TestNetwork = {
    redisNamespace,
    hostNamespace,
    redisAddress: (from) => links[from].redisAddress,
    setLink(name, up) {
      ip(links[name].namespace, ['link', 'set', links[name].device, up ? 'up' : 'down']);
    },
    setDelay(ms) {
      if (ms === 0 && !delayed) return;
      for (const link of Object.values(links)) {
        for (const [namespace, device] of [
          [link.namespace, link.device],
          [redisNamespace, link.redisDevice],
        ] as const) {
          const where = namespace === undefined ? [] : ['-n', namespace];
          if (ms === 0) spawnSync('tc', [...where, 'qdisc', 'del', 'dev', device, 'root'], { stdio: 'ignore' });
          else run('tc', [...where, 'qdisc', 'replace', 'dev', device, 'root', 'netem', 'delay', `${ms}ms`]);
          delayed = ms !== 0;
        }
      }
    },
    destroy() {
      for (const namespace of [redisNamespace, ...Object.values(hostNamespace)]) {
        const pids = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout ?? '';
        for (const pid of pids.split('\n').filter(Boolean)) spawnSync('kill', ['-9', pid], { stdio: 'ignore' });
        // Deleting a namespace deletes its veth ends, and with them their peers in the root namespace.
        spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
      }
      spawnSync('ip', ['link', 'del', links.root.device], { stdio: 'ignore' });
    },
  };

  try {
    for (const namespace of [redisNamespace, ...Object.values(hostNamespace)]) {
      ip(undefined, ['netns', 'add', namespace]);
      ip(namespace, ['link', 'set', 'lo', 'up']);
    }
    for (const link of Object.values(links)) {
      const hostAddress = link.redisAddress.replace(/\d+$/, (last) => String(Number(last) - 1));
      ip(undefined, ['link', 'add', link.device, 'type', 'veth', 'peer', 'name', link.redisDevice]);
      ip(undefined, ['link', 'set', link.redisDevice, 'netns', redisNamespace]);
      if (link.namespace !== undefined) ip(undefined, ['link', 'set', link.device, 'netns', link.namespace]);
      ip(link.namespace, ['addr', 'add', `${hostAddress}/30`, 'dev', link.device]);
      ip(redisNamespace, ['addr', 'add', `${link.redisAddress}/30`, 'dev', link.redisDevice]);
      ip(link.namespace, ['link', 'set', link.device, 'up']);
      ip(redisNamespace, ['link', 'set', link.redisDevice, 'up']);
    }
  } catch (error) {
    network.destroy();
    throw error;
  }
  return network;
}

/** `10.X.Y`: a /24 of 10.0.0.0/8 that no interface of the root namespace uses (links take /30s of it). */
function freePrivateSubnet(): string {
  const used = run('ip', ['-4', '-o', 'addr', 'show']) + run('ip', ['-4', 'route', 'show']);
  for (let tries = 0; tries < 100; tries++) {
    const subnet = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('found no free private /24 in 10.200.0.0/13');
}
