// What runs inside the VM. The host writes these files into the per-boot 9p share (`/twin` in
// the guest) before every boot, so changing them never needs a new image: the image's
// /sbin/twin-init only mounts the share and runs /twin/init.sh.
//
// The agent is written as a TypeScript function (type-checked with the rest) and shipped as its
// compiled source text: it must use nothing from outside its own body but `require`.

/* eslint-disable @typescript-eslint/no-var-requires */
export function guestAgentMain(listenHost: string, port: number, tokenFile: string): void {
  const net = require('node:net') as typeof import('node:net');
  const fs = require('node:fs') as typeof import('node:fs');
  const cp = require('node:child_process') as typeof import('node:child_process');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const T = { A: 0x41, R: 0x52, I: 0x49, E: 0x45, K: 0x4b, O: 0x4f, X: 0x58, F: 0x46, C: 0x43 };
  const MAX = 16 * 1024 * 1024;
  const token = Buffer.from(fs.readFileSync(tokenFile, 'utf8').trim());
  const frame = (type: number, body: Buffer | string): Buffer => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    const h = Buffer.alloc(5);
    h[0] = type;
    h.writeUInt32BE(b.length, 1);
    return Buffer.concat([h, b]);
  };
  const server = net.createServer((sock) => {
    let buf: Buffer = Buffer.alloc(0);
    let authed = false;
    let child: import('node:child_process').ChildProcess | undefined;
    let done = false;
    const authTimer = setTimeout(() => sock.destroy(), 10000);
    const send = (type: number, body: Buffer | string) => {
      if (!sock.destroyed) sock.write(frame(type, body));
    };
    const finish = (exit: object) => {
      if (done) return;
      done = true;
      send(T.C, JSON.stringify(exit));
      sock.end();
    };
    const start = (req: { argv: string[]; netns?: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number }) => {
      if (!Array.isArray(req.argv) || req.argv.length === 0) {
        send(T.F, 'empty argv');
        finish({ code: 127, signal: null });
        return;
      }
      const argv = req.netns ? ['ip', 'netns', 'exec', req.netns, ...req.argv] : req.argv;
      let timedOut = false;
      try {
        child = cp.spawn(argv[0], argv.slice(1), {
          cwd: req.cwd || '/',
          env: Object.assign({}, process.env, req.env || {}),
          stdio: ['pipe', 'pipe', 'pipe'],
        });
      } catch (e) {
        send(T.F, String((e as Error).message));
        finish({ code: 127, signal: null });
        return;
      }
      const c = child;
      const timer = req.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            c.kill('SIGKILL');
          }, req.timeoutMs)
        : undefined;
      c.stdout!.on('data', (d: Buffer) => send(T.O, d));
      c.stderr!.on('data', (d: Buffer) => send(T.X, d));
      c.stdin!.on('error', () => undefined);
      c.on('error', (e) => {
        if (timer) clearTimeout(timer);
        send(T.F, String(e.message));
        finish({ code: 127, signal: null });
      });
      // A daemon the command started may keep the pipes open: end on exit, after a short drain.
      c.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        let closed = false;
        const end = () => finish({ code, signal, timedOut });
        c.on('close', () => {
          closed = true;
          end();
        });
        setTimeout(() => {
          if (!closed) {
            c.stdout!.destroy();
            c.stderr!.destroy();
            end();
          }
        }, 300);
      });
    };
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 5) {
        const len = buf.readUInt32BE(1);
        if (len > MAX) {
          sock.destroy();
          return;
        }
        if (buf.length < 5 + len) break;
        const type = buf[0];
        const body = buf.subarray(5, 5 + len);
        buf = buf.subarray(5 + len);
        if (!authed) {
          if (type !== T.A || body.length !== token.length || !crypto.timingSafeEqual(body, token)) {
            sock.destroy();
            return;
          }
          authed = true;
          clearTimeout(authTimer);
          continue;
        }
        if (type === T.R && !child) {
          try {
            start(JSON.parse(body.toString('utf8')));
          } catch (e) {
            send(T.F, 'bad request: ' + String((e as Error).message));
            finish({ code: 127, signal: null });
          }
        } else if (type === T.I && child) child.stdin!.write(body);
        else if (type === T.E && child) child.stdin!.end();
        else if (type === T.K && child) child.kill(body.toString() as NodeJS.Signals);
      }
    });
    const abandon = () => {
      clearTimeout(authTimer);
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    sock.on('close', abandon);
    sock.on('error', abandon);
  });
  server.listen(port, listenHost, () => {
    fs.writeFileSync('/dev/console', `twin-agent: listening on ${listenHost}:${port}\n`);
  });
}

/** The agent as a self-contained script. */
export function guestAgentScript(listenHost: string, port: number, tokenFile: string): string {
  return `'use strict';\n(${guestAgentMain.toString()})(${JSON.stringify(listenHost)}, ${port}, ${JSON.stringify(tokenFile)});\n`;
}

/**
 * A require hook that runs the project's TypeScript sources in the guest (no build step: the
 * repository is shared read-only, dist/ may be stale). Transpiled output is cached on the
 * guest's disk by path, size and mtime.
 */
export function tsHookScript(repo: string): string {
  return `'use strict';
const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
const cacheDir = '/var/cache/twin-ts';
fs.mkdirSync(cacheDir, { recursive: true });
let ts;
require.extensions['.ts'] = function (module, filename) {
  const st = fs.statSync(filename);
  const key = crypto.createHash('sha1').update(filename + ':' + st.size + ':' + st.mtimeMs).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  let out;
  try { out = fs.readFileSync(cached, 'utf8'); } catch {
    ts = ts || require(${JSON.stringify(repo + '/node_modules/typescript')});
    out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
    }).outputText;
    try { fs.writeFileSync(cached + '.' + process.pid, out); fs.renameSync(cached + '.' + process.pid, cached); } catch {}
  }
  module._compile(out, filename);
};
`;
}

export interface GuestInitParams {
  labName: string;
  /** MAC of the NIC that carries the control channel (user-mode net). */
  ctlMac: string;
  ctlAddress: string; // e.g. 10.0.2.15/24
  /** Host repository path; shared read-only at the same path in the guest. */
  repo: string;
  repoTag: string;
  agentPort: number;
}

/** /twin/init.sh: PID 1 after the image's stage-1 init. */
export function guestInitScript(p: GuestInitParams): string {
  return `#!/bin/sh
# Written by the host for each boot (src/lab/vm/guest.ts). PID 1: never exits.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
hostname twin-${p.labName}
mount -o remount,rw / 2>/dev/null
mkdir -p /run/netns /run/lock /run/lldpd /var/log /var/lib/twin
# what systemd-tmpfiles would make (no systemd here): FRR's run directory belongs to frr
install -d -m 0755 -o frr -g frr /run/frr 2>/dev/null || mkdir -p /run/frr
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
# no udev here: load the drivers of qemu's devices and what the labs need by hand
# (one modprobe: each process start costs under emulation; no bond0/dummy0 made on load)
printf 'options bonding max_bonds=0\noptions dummy numdummies=0\n' >/etc/modprobe.d/twin.conf
modprobe -a virtio_net bonding dummy 8021q vrf bridge veth vxlan tun macvlan
# the VM's own namespace never routes: mgmt0 here is a plain bridge, the control NIC leads nowhere
sysctl -qw net.ipv4.ip_forward=0 kernel.panic=5 2>/dev/null
ip link set lo up
ctl=""
for d in /sys/class/net/*; do
  [ "$(cat $d/address 2>/dev/null)" = "${p.ctlMac}" ] && ctl=$(basename $d)
done
if [ -n "$ctl" ]; then ip addr add ${p.ctlAddress} dev $ctl; ip link set $ctl up; fi
mkdir -p ${p.repo}
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro ${p.repoTag} ${p.repo} || echo "twin-init: repository share missing" >/dev/console
echo "twin-init: ctl=$ctl up at $(cut -d' ' -f1 /proc/uptime)s" >/dev/console
# The agent restarts when it dies (bounded pace); this shell also reaps orphaned daemons.
while true; do
  node /twin/agent.js >>/var/log/twin-agent.log 2>&1
  echo "twin-init: agent exited ($?), restarting" >/dev/console
  sleep 1
done
`;
}

/**
 * The guest side of up/down/status: runs the project's netns backend inside the VM, with the
 * devices' eth0 on a bridge `mgmt0` in the VM's own namespace that also holds the management
 * NIC (the host's tap). Usage: node driver.js <op> <request.json>; the answer is the last stdout
 * line, prefixed `@@result `.
 */
export function guestDriverMain(netnsModule: string, labRoot: string, mgmtMac: string, nodeBin: string): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const cp = require('node:child_process') as typeof import('node:child_process');
  const op = process.argv[2];
  const req = JSON.parse(fs.readFileSync(process.argv[3], 'utf8')) as {
    name: string;
    topology?: unknown;
    preconfigured?: boolean;
    timeoutSeconds?: number;
  };
  const log = (l: string) => process.stderr.write(l + '\n');
  const ip = (args: string[], okFail = false) => {
    const r = cp.spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0 && !okFail) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || '').trim()}`);
    return r.stdout;
  };
  const mgmtBridge = () => {
    let nic = '';
    for (const d of fs.readdirSync('/sys/class/net')) {
      try {
        if (fs.readFileSync(`/sys/class/net/${d}/address`, 'utf8').trim() === mgmtMac) nic = d;
      } catch {
        /* vanished */
      }
    }
    if (!nic) throw new Error(`no NIC with MAC ${mgmtMac} in the VM`);
    if (!fs.existsSync('/sys/class/net/mgmt0')) ip(['link', 'add', 'mgmt0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['link', 'set', nic, 'master', 'mgmt0']);
    ip(['link', 'set', nic, 'up']);
    ip(['link', 'set', 'mgmt0', 'up']);
  };
  // Servers with two NICs (802.3ad bond0) or a VLAN: this kernel has bonding and 802.1Q, so the
  // guest makes them when the netns code has not (idempotent: what exists is left alone).
  const serverLinks = (topo: import('../topology').Topology) => {
    for (const srv of topo.servers) {
      const ns = `${topo.name}-${srv.name}`;
      type L = { ifname: string; link?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number } } };
      const links = () => JSON.parse(ip(['-n', ns, '-d', '-j', 'link', 'show']) || '[]') as L[];
      let base = 'eth1';
      if (srv.nics.length >= 2) {
        const bond = links().find((l) => l.linkinfo?.info_kind === 'bond');
        if (bond) base = bond.ifname;
        else {
          base = 'bond0';
          ip(['-n', ns, 'link', 'add', 'bond0', 'type', 'bond', 'mode', '802.3ad', 'miimon', '100', 'lacp_rate', 'fast']);
          srv.nics.forEach((_n, j) => {
            ip(['-n', ns, 'link', 'set', `eth${j + 1}`, 'down']);
            ip(['-n', ns, 'link', 'set', `eth${j + 1}`, 'master', 'bond0']);
            ip(['-n', ns, 'link', 'set', `eth${j + 1}`, 'up']);
          });
          ip(['-n', ns, 'link', 'set', 'bond0', 'up']);
          log(`vm guest: ${srv.name}: bond0 (802.3ad) over ${srv.nics.map((_n, j) => `eth${j + 1}`).join(', ')}`);
        }
      }
      let dev = base;
      if (srv.vlan !== undefined) {
        const vl = links().find((l) => l.linkinfo?.info_kind === 'vlan' && l.linkinfo.info_data?.id === srv.vlan);
        if (vl) dev = vl.ifname;
        else {
          dev = `${base}.${srv.vlan}`;
          ip(['-n', ns, 'link', 'add', 'link', base, 'name', dev, 'type', 'vlan', 'id', String(srv.vlan)]);
          ip(['-n', ns, 'link', 'set', dev, 'up']);
          log(`vm guest: ${srv.name}: ${dev} (802.1Q VLAN ${srv.vlan})`);
        }
      }
      if (srv.address) {
        const shown = ip(['-n', ns, '-j', '-4', 'addr', 'show']);
        if (!shown.includes(`"local":"${srv.address.split('/')[0]}"`)) ip(['-n', ns, 'addr', 'add', srv.address, 'dev', dev]);
      }
    }
  };
  const done = (v: unknown) => {
    process.stdout.write('\n@@result ' + JSON.stringify(v) + '\n');
    process.exit(0);
  };
  (async () => {
    const t = Date.now();
    const mod = require(netnsModule) as { netnsBackend: import('../backend').LabBackend };
    log(`vm guest: netns code loaded in ${Date.now() - t} ms`);
    const b = mod.netnsBackend;
    if (op === 'up') {
      mgmtBridge();
      await b.down(req.name, { root: labRoot });
      const res = await b.up(req.topology as import('../topology').Topology, {
        root: labRoot,
        preconfigured: req.preconfigured,
        timeoutSeconds: req.timeoutSeconds,
        externalMgmt: { bridge: 'mgmt0' },
        nodeBin,
        log,
      });
      serverLinks(req.topology as import('../topology').Topology);
      done(res);
    } else if (op === 'down') {
      await b.down(req.name, { root: labRoot, log });
      done({ ok: true });
    } else if (op === 'status') {
      done(await b.status(req.name, { root: labRoot }));
    } else throw new Error(`unknown op ${op}`);
  })().catch((e: Error) => {
    process.stdout.write('\n@@error ' + JSON.stringify(String(e && e.message)) + '\n');
    process.exit(1);
  });
}

export function guestDriverScript(netnsModule: string, labRoot: string, mgmtMac: string, nodeBin: string): string {
  return `'use strict';\n(${guestDriverMain.toString()})(${[netnsModule, labRoot, mgmtMac, nodeBin].map((x) => JSON.stringify(x)).join(', ')});\n`;
}
