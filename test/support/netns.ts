/**
 * A network lab on one machine for VRRP tests and benches: a bridge in a namespace of its own and
 * N node namespaces, each with an `eth0` on that bridge, so keepalived sends real adverts and adds
 * real addresses without touching the machine's own networking. Needs root (`ip netns`).
 *
 * Every lab has names of its own (pid and a counter), and `destroy()` — also run on process exit —
 * kills what the lab started and deletes its namespaces.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const ENV = { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin` };
/** Compiled to test/dist/support/, three levels below the repository root. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Subnet of the nodes' own addresses (documentation range): node i has `${SUBNET}.i/24`. */
export const SUBNET = '192.0.2';
let labs = 0;

/** A sleep that does not keep the process alive (for races against an exit). */
const unrefSleep = (ms: number): Promise<void> => sleep(ms, undefined, { ref: false });

export interface LabNode {
  /** `node-1` … `node-N` (name order is number order up to 9 nodes). */
  name: string;
  namespace: string;
  /** The node's own address on `eth0`, without prefix. */
  address: string;
  /** The veth end in the bridge's namespace; taking it down cuts the node's link. */
  bridgePort: string;
}

/**
 * The keepalived binary: from `CX_TEST_KEEPALIVED` (what `npm test` got from
 * test/peers/keepalived.sh), else from running that script, which installs keepalived if absent
 * and starts nothing.
 */
export function keepalivedBinary(): string {
  assert.equal(process.getuid?.(), 0, 'VRRP in network namespaces needs root (ip netns, NET_ADMIN)');
  const raw =
    process.env['CX_TEST_KEEPALIVED'] ??
    execFileSync('bash', [join(repoRoot, 'test/peers/keepalived.sh'), 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  return (JSON.parse(raw) as { binary: string }).binary;
}

/** Runs `ip ARGS…`; fails with ip's message. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await exec('ip', args, { env: ENV, encoding: 'utf8' })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * Polls `probe` until it answers something other than `undefined`, at most `timeoutMs`; fails
 * with `describe()` (the state seen last) when the time is up.
 */
export async function poll<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  describe: () => string,
  everyMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answer = await probe();
    if (answer !== undefined) return answer;
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
    await sleep(everyMs);
  }
}

/** One keepalived (parent and VRRP child, in a process group of their own) in a node's namespace. */
export class KeepalivedProcess {
  readonly exited: Promise<number | null>;
  constructor(
    readonly node: LabNode,
    private readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
      else child.once('exit', (code) => done(code));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }
  /** Pid of the VRRP child the parent started last (it respawns a child that dies). */
  get vrrpPid(): number | undefined {
    const started = [...this.log().matchAll(/Starting VRRP child process, pid=(\d+)/g)];
    return started.length ? Number(started.at(-1)![1]) : undefined;
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  /**
   * `SIGKILL` kills the whole process group at once, as a crash or an OOM kill would: nothing
   * gets to remove the VIPs. `SIGTERM` asks the parent, which stops the VRRP child cleanly
   * (adverts with priority 0, VIPs removed). Waits for the parent to exit, at most `timeoutMs`,
   * then kills the group.
   */
  async stop(signal: 'SIGKILL' | 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (!this.running) return;
    try {
      if (signal === 'SIGKILL') process.kill(-this.pid, 'SIGKILL');
      else process.kill(this.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const late = await Promise.race([this.exited.then(() => false), unrefSleep(timeoutMs).then(() => true)]);
    if (late) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
      await Promise.race([this.exited, unrefSleep(5_000)]);
      throw new Error(`keepalived of ${this.node.name} did not stop on ${signal} within ${timeoutMs} ms; killed`);
    }
  }
}

/** Scheduling policy (`SCHED_OTHER`, `SCHED_FIFO`, `SCHED_RR`, …) and real-time priority of a process. */
export function scheduling(pid: number): { policy: string; rtPriority: number } {
  // Fields after the command name in parentheses start at field 3; rt_priority is 40, policy 41.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ');
  const policy =
    ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE'][
      Number(fields[41 - 3])
    ] ?? `policy ${fields[41 - 3]}`;
  return { policy, rtPriority: Number(fields[40 - 3]) };
}

export class NetnsLab {
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;
  private starts = 0;
  private readonly onExit = (): void => this.destroySync();

  private constructor(
    readonly bridge: string,
    readonly nodes: readonly LabNode[],
    readonly dir: string,
  ) {
    process.once('exit', this.onExit);
  }

  /** A bridge and `nodes` node namespaces whose `eth0` is up with its address, loopback up. */
  static async create(opts: { nodes: number }): Promise<NetnsLab> {
    if (opts.nodes < 1 || opts.nodes > 200) throw new Error('a lab has 1..200 nodes');
    const tag = `cxlab-${process.pid}-${++labs}`;
    const nodes = Array.from({ length: opts.nodes }, (_, i): LabNode => ({
      name: `node-${i + 1}`,
      namespace: `${tag}-n${i + 1}`,
      address: `${SUBNET}.${i + 1}`,
      bridgePort: `v${i + 1}`,
    }));
    const lab = new NetnsLab(`${tag}-br`, nodes, mkdtempSync(join(tmpdir(), `${tag}-`)));
    try {
      await ip('netns', 'add', lab.bridge);
      await ip('-n', lab.bridge, 'link', 'set', 'lo', 'up');
      await ip('-n', lab.bridge, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', lab.bridge, 'link', 'set', 'br0', 'up');
      for (const node of nodes) {
        await ip('netns', 'add', node.namespace);
        await ip(
          '-n',
          lab.bridge,
          'link',
          'add',
          node.bridgePort,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          node.namespace,
        );
        await ip('-n', lab.bridge, 'link', 'set', node.bridgePort, 'master', 'br0', 'up');
        await ip('-n', node.namespace, 'link', 'set', 'lo', 'up');
        await ip('-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0');
        await ip('-n', node.namespace, 'link', 'set', 'eth0', 'up');
      }
      for (const node of nodes) await lab.waitLink(node, true);
      return lab;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  node(name: string): LabNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in the lab`);
    return node;
  }

  /** Addresses on the node's `eth0` other than its own and link-local ones, without prefix. */
  async addresses(node: LabNode): Promise<string[]> {
    const out = await ip('-n', node.namespace, '-o', 'addr', 'show', 'dev', 'eth0');
    return [...out.matchAll(/\sinet6? ([0-9a-f.:]+)\//g)]
      .map((m) => m[1]!)
      .filter((a) => a !== node.address && !a.startsWith('fe80:'));
  }

  /** Node name → the addresses it carries besides its own, read from every node at once. */
  async holdings(): Promise<Map<string, string[]>> {
    const all = await Promise.all(this.nodes.map(async (n) => [n.name, await this.addresses(n)] as const));
    return new Map(all);
  }

  /** Cuts (`false`) or restores (`true`) the node's link at the bridge: its `eth0` loses carrier, as with a pulled cable. */
  async setLink(node: LabNode, up: boolean): Promise<void> {
    await ip('-n', this.bridge, 'link', 'set', node.bridgePort, up ? 'up' : 'down');
  }

  /** Waits until the node's `eth0` has (or has lost) carrier. */
  async waitLink(node: LabNode, up: boolean, timeoutMs = 5_000): Promise<void> {
    let seen = '';
    await poll(
      async () => {
        seen = await ip('-n', node.namespace, '-o', 'link', 'show', 'dev', 'eth0');
        return seen.includes('NO-CARRIER') !== up && (!up || /state UP/.test(seen)) ? true : undefined;
      },
      timeoutMs,
      () => `eth0 of ${node.name} is not ${up ? 'up' : 'down'}: ${seen.trim()}`,
    );
  }

  /** Starts a command inside the node's namespace, in a process group of its own; `destroy()` kills it. */
  spawnIn(node: LabNode, command: string, args: string[], stdio: 'ignore' | 'pipe' | number = 'ignore'): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', node.namespace, command, ...args], {
      env: ENV,
      detached: true,
      stdio: ['ignore', stdio, stdio],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Starts keepalived (VRRP only, in the foreground) on `config` in the node's namespace and waits
   * until its VRRP child runs. Each start has pid files of its own: keepalived refuses to start,
   * silently, while the pid in its file exists, and the VRRP child of a keepalived killed with
   * SIGKILL stays a zombie until init reaps it.
   */
  async startKeepalived(node: LabNode, binary: string, config: string): Promise<KeepalivedProcess> {
    const base = join(this.dir, `${node.name}.${++this.starts}`);
    writeFileSync(`${base}.conf`, config);
    const logFile = `${base}.log`;
    const fd = openSync(logFile, 'a');
    const child = this.spawnIn(
      node,
      binary,
      [
        '--dont-fork',
        '--log-console',
        '--no-syslog',
        '--vrrp',
        '-f',
        `${base}.conf`,
        '-p',
        `${base}.pid`,
        '-r',
        `${base}.vrrp.pid`,
      ],
      fd,
    );
    closeSync(fd);
    const keepalived = new KeepalivedProcess(node, child, logFile);
    await poll(
      async () => {
        if (!keepalived.running) throw new Error(`keepalived of ${node.name} exited at start:\n${keepalived.log()}`);
        return /Starting VRRP child process, pid=\d+/.test(keepalived.log()) ? true : undefined;
      },
      10_000,
      () => `keepalived of ${node.name} did not start its VRRP child:\n${keepalived.log()}`,
      20,
    );
    return keepalived;
  }

  /** A TCP listener on 127.0.0.1:`port` inside the node's namespace (what a watched port checks). */
  async startListener(node: LabNode, port: number): Promise<{ stop: () => Promise<void> }> {
    const script = `require('net').createServer((s) => s.destroy()).listen(${port}, '127.0.0.1', () => console.log('listening'))`;
    const child = this.spawnIn(node, process.execPath, ['-e', script], 'pipe');
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`the listener on ${node.name}:${port} did not start within 10 s`)),
        10_000,
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening')) {
          clearTimeout(timer);
          done();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        fail(new Error(`the listener on ${node.name}:${port} exited at start`));
      });
    });
    return {
      stop: async () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
        await Promise.race([exited, unrefSleep(5_000)]);
      },
    };
  }

  /**
   * Reports every address added to or deleted from the node's `eth0` (`ip monitor`), as it
   * happens; returns a function that stops reporting.
   */
  monitorAddresses(
    node: LabNode,
    report: (event: { node: string; address: string; added: boolean; at: number }) => void,
  ): () => void {
    const child = this.spawnIn(node, 'ip', ['monitor', 'address', 'dev', 'eth0'], 'pipe');
    let rest = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const at = performance.now();
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const m = /^(Deleted )?\d+: eth0\s+inet6? ([0-9a-f.:]+)\//.exec(line);
        if (m && m[2] !== node.address && !m[2]!.startsWith('fe80:'))
          report({ node: node.name, address: m[2]!, added: !m[1], at });
      }
    });
    return () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
  }

  /** Kills everything the lab started and deletes its namespaces and files. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const children = [...this.children];
    for (const child of children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : Promise.race([new Promise((done) => c.once('exit', done)), unrefSleep(5_000)]),
      ),
    );
    this.destroySync();
  }

  private destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    for (const child of this.children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of [...this.nodes.map((n) => n.namespace), this.bridge]) {
      try {
        execFileSync('ip', ['netns', 'delete', ns], { env: ENV, stdio: 'ignore' });
      } catch {
        /* never created */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
