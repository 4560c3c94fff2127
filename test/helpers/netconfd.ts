/**
 * A real, independent NETCONF server for integration tests: Debian's netconfd (yuma123)
 * behind OpenSSH's netconf subsystem, on a random loopback port, with a throwaway host key
 * and a throwaway system user (password + an Ed25519 key). Needs root.
 *
 * Everything it starts is stopped by pid, the user is deleted and the temp dir removed in
 * `stop()` (call it in afterAll, it is idempotent).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { utils } from 'ssh2';

export const NETCONFD_REQUIREMENTS = {
  root: true,
  commands: ['/usr/sbin/netconfd', '/usr/sbin/netconf-subsystem', '/usr/sbin/sshd', 'ssh-keygen', 'useradd', 'userdel', 'chpasswd'],
};

export interface Netconfd {
  host: string;
  port: number;
  username: string;
  password: string;
  /** OpenSSH private key of the user (authorized on the server) */
  privateKey: string;
  /** `SHA256:...` of the server host key, as `ssh-keygen -lf` prints it */
  hostKeyFingerprint: string;
  dir: string;
  sshdPid: number;
  netconfdPid: number;
  /** netconfd + sshd logs, for failure messages */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, ms: number, logs: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`netconfd helper: ${what} not ready after ${ms} ms\n${logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** pids whose parent chain reaches `root` (sshd per-connection children) */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      /* exited */
    }
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    for (let i = 0; i < 64 && p !== undefined && p > 1; i++) {
      if (p === root) {
        out.push(pid);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

function pidsOfUser(user: string): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '-u', user], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

export interface NetconfdOptions {
  /** YANG modules netconfd loads (default iana-if-type + ietf-interfaces) */
  modules?: string[];
}

export async function startNetconfd(opts: NetconfdOptions = {}): Promise<Netconfd> {
  const dir = mkdtempSync('/tmp/h5-netconfd-');
  chmodSync(dir, 0o755); // the user's netconf-subsystem must reach the socket in here
  const port = await freePort();
  const sock = join(dir, 'ncxserver.sock');
  const username = `ncu${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const userKey = utils.generateKeyPairSync('ed25519');
  let sshd: ChildProcess | undefined;
  let ncd: ChildProcess | undefined;
  let userCreated = false;
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  // First the process state and the lines that say why netconfd ended a session, then the tails.
  const logs = () =>
    [
      `--- netconfd ${!ncd ? 'not started' : ncd.exitCode === null && ncd.signalCode === null ? 'running' : `exited (${ncd.exitCode ?? ncd.signalCode})`}`,
      ...read('netconfd.log').split('\n').filter((l) => /drop|error|timeout|kill/i.test(l)).slice(-10),
      ...['sshd.log', 'netconfd.log'].map((f) => `--- ${f}\n${read(f).slice(-3000)}`),
    ].join('\n');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const sshdPid = sshd?.pid;
    const kids = sshdPid ? descendants(sshdPid) : [];
    await stopChild(sshd);
    for (const pid of [...kids, ...(userCreated ? pidsOfUser(username) : [])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await stopChild(ncd);
    if (userCreated) {
      for (let i = 0; i < 20; i++) {
        try {
          execFileSync('userdel', [username], { stdio: 'ignore' });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100)); // processes of the user still exiting
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]);
    const fp = execFileSync('ssh-keygen', ['-lf', join(dir, 'hostkey.pub')], { encoding: 'utf8' }).split(' ')[1];
    execFileSync('useradd', ['-M', '-d', dir, '-s', '/bin/sh', username]);
    userCreated = true;
    execFileSync('chpasswd', [], { input: `${username}:${password}\n` });
    writeFileSync(join(dir, 'authorized_keys'), userKey.public + '\n', { mode: 0o644 });
    mkdirSync('/run/sshd', { recursive: true }); // privilege separation dir, absent on a fresh host
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'hostkey')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'PermitRootLogin no',
        `AllowUsers ${username}`,
        'MaxStartups 1000:30:2000',
        'MaxSessions 100',
        'LogLevel VERBOSE',
        `Subsystem netconf /usr/sbin/netconf-subsystem --ncxserver-sockname=${port}@${sock}`,
        '',
      ].join('\n'),
    );
    ncd = spawn(
      '/usr/sbin/netconfd',
      [
        `--port=${port}`,
        `--ncxserver-sockname=${sock}`,
        '--no-startup',
        '--access-control=off',
        '--target=candidate',
        '--with-validate=true',
        ...(opts.modules ?? ['iana-if-type', 'ietf-interfaces']).map((m) => `--module=${m}`),
        `--log=${join(dir, 'netconfd.log')}`,
        '--log-level=info',
      ],
      { stdio: 'ignore', cwd: dir },
    );
    await waitUntil('netconfd socket', () => existsSync(sock) || ncd!.exitCode !== null, 10_000, logs);
    if (ncd.exitCode !== null) throw new Error(`netconfd exited with ${ncd.exitCode}\n${logs()}`);
    chmodSync(sock, 0o666);
    sshd = spawn('/usr/sbin/sshd', ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')], { stdio: 'ignore' });
    await waitUntil('sshd port', async () => sshd!.exitCode !== null || (await portOpen(port)), 10_000, logs);
    if (sshd.exitCode !== null) throw new Error(`sshd exited with ${sshd.exitCode}\n${logs()}`);
    return {
      host: '127.0.0.1',
      port,
      username,
      password,
      privateKey: userKey.private,
      hostKeyFingerprint: fp,
      dir,
      sshdPid: sshd.pid!,
      netconfdPid: ncd.pid!,
      logs,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
