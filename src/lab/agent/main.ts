// Device agent entry point: `ip netns exec <lab>-<node> node dist/src/lab/agent/main.js --run DIR`
// (DIR holds device.json written by `lab up`). One process per device, inside its namespace:
// boots FRR, waits in factory default (dhclient) for a lease carrying a bootstrap URL, applies
// the bootstrap, then serves NETCONF on <management address>:830.
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type NetconfListener } from '../netconf-server';
import { Device, type DeviceConfig } from './device';
import { CAP_DEVICE, CAP_FRR, factsRpc, hooksFor, installSoftwareRpc, loadConfigurationRpc, wrapFrr, unwrapFrr } from './netconf';
import { bootstrapUrl, parseBootstrap, parseLeaseEnv, urlAllowed, type Bootstrap, type LeaseEnv } from '../ztp';
import { run, sleep } from '../sh';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const log = (m: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${m}\n`);
};

/** ZTP retries: a failed attempt asks DHCP again after this long, at most this many times */
const ZTP_RESTART_MS = 5000;
const ZTP_RESTARTS_MAX = 20;
/** one bootstrap fetch; a guest under software emulation can be slow to answer */
const BOOTSTRAP_FETCH_MS = 30_000;

export class Agent {
  dev: Device;
  private server?: NetconfServer;
  private listener?: NetconfListener;
  private ncDevice?: NetconfDevice;
  private ztpBusy = false;
  /** a lease event that came while ZTP was busy: handled when it is done */
  private leasePending = false;
  /** DHCP restarts after failed ZTP attempts (bounded) */
  private ztpRestarts = 0;
  private ztpRestartTimer?: NodeJS.Timeout;

  constructor(public cfg: DeviceConfig) {
    this.dev = new Device(cfg, log);
  }

  hostKey(): string {
    const f = join(this.cfg.stateDir, 'ssh_host_ed25519_key');
    if (!existsSync(f)) {
      const k = generateHostKey();
      writeFileSync(f, k.private, { mode: 0o600 });
      writeFileSync(f + '.pub', k.public + '\n');
    }
    chmodSync(f, 0o600);
    return readFileSync(f, 'utf8');
  }

  async boot(): Promise<void> {
    writeFileSync(join(this.cfg.runDir, 'agent.pid'), String(process.pid));
    const d = this.dev;
    d.phase = 'factory-default';
    // until NETCONF listens, a rebooting device stays "rebooting", a new one "factory-default"
    if (d.statusOverride !== 'rebooting') d.statusOverride = 'factory-default';
    d.writeStatus({ netconf: false });
    await d.portsUp();
    await d.setHostname(d.state.bootstrap?.hostname ?? this.cfg.preconfigured?.bootstrap.hostname ?? this.cfg.serial);
    await d.startFrr();
    if (d.state.bootstrap && d.state.managementIp) {
      // a reboot of a bootstrapped device: it keeps its address, bootstrap and config
      await d.setManagementAddress(d.state.managementIp, d.state.prefixLen ?? 24);
      await this.afterBootstrap(d.state.bootstrap);
    } else if (this.cfg.preconfigured) {
      await d.setManagementAddress(this.cfg.preconfigured.address, this.cfg.preconfigured.prefixLen);
      // `lab up --running`: a config someone else wrote, committed before the service ever saw
      // the device (afterBootstrap applies it as it applies a config kept across a reboot)
      if (this.cfg.preconfigured.running && !d.state.running.frrConf && !d.state.running.interfaces) d.state.running = { ...this.cfg.preconfigured.running };
      await this.afterBootstrap(this.cfg.preconfigured.bootstrap);
    } else {
      await d.startDhclient();
      d.writeStatus({ netconf: false, dhcp: true });
      log('factory default: dhclient on eth0');
    }
  }

  /** The dhclient script wrote lease.env and woke us (SIGUSR2). */
  async onLease(): Promise<void> {
    if (this.dev.state.bootstrap) return;
    if (this.ztpBusy) { this.leasePending = true; return; }
    this.ztpBusy = true;
    try {
      const f = join(this.cfg.runDir, 'lease.env');
      if (!existsSync(f)) return;
      const lease = parseLeaseEnv(readFileSync(f, 'utf8'));
      await this.ztpFromLease(lease);
    } catch (e) {
      log(`ztp: ${(e as Error).message}`);
      // a bootstrap that did not finish (NETCONF not up) is not kept: the next attempt starts over
      if (!this.listener) this.dev.state.bootstrap = undefined;
      this.dev.writeStatus({ netconf: false, dhcp: true, ztpError: (e as Error).message });
      this.restartZtpLater();
    } finally {
      this.ztpBusy = false;
    }
    if (this.leasePending) {
      this.leasePending = false;
      await this.onLease();
    }
  }

  /**
   * A failed ZTP attempt (bootstrap fetch or apply) asks DHCP again, as switches do: the bootstrap
   * URL's token is used up by a fetch whose reply was lost, and a new exchange brings a new one.
   */
  private restartZtpLater(): void {
    if (this.ztpRestartTimer || this.ztpRestarts >= ZTP_RESTARTS_MAX) return;
    this.ztpRestarts++;
    this.ztpRestartTimer = setTimeout(() => {
      this.ztpRestartTimer = undefined;
      if (this.dev.state.bootstrap) return;
      log(`ztp: asking DHCP again (restart ${this.ztpRestarts} of ${ZTP_RESTARTS_MAX})`);
      void this.dev.stopDhclient().then(() => this.dev.startDhclient()).catch((e: Error) => log(`ztp: dhclient restart: ${e.message}`));
    }, ZTP_RESTART_MS);
    this.ztpRestartTimer.unref();
  }

  async ztpFromLease(lease: LeaseEnv): Promise<void> {
    const ip = lease.new_ip_address;
    const mask = lease.new_subnet_mask;
    if (!ip || !mask) throw new Error('lease without address');
    const prefixLen = mask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
    this.dev.state.managementIp = ip;
    this.dev.state.prefixLen = prefixLen;
    const url = bootstrapUrl(lease);
    if (!url) {
      log(`lease ${ip}/${prefixLen} carries no bootstrap URL; staying in factory default`);
      this.dev.writeStatus({ netconf: false, dhcp: true });
      return;
    }
    if (!urlAllowed(url, lease)) throw new Error(`bootstrap URL ${url} is outside the lease's subnet and DHCP server; refused`);
    log(`lease ${ip}/${prefixLen}; fetching bootstrap ${url}`);
    const b = await fetchBootstrap(url);
    await this.afterBootstrap(b);
    // ZTP is over: the device keeps its lease address (the service pins it) and stops asking
    await this.dev.stopDhclient();
  }

  async afterBootstrap(b: Bootstrap): Promise<void> {
    const d = this.dev;
    await d.applyBootstrap(b);
    // config committed before a reboot comes back
    if (d.state.running.frrConf || d.state.running.interfaces) {
      try {
        d.state.netdev = { created: {}, addresses: {}, masters: {} };
        const keep = d.state.running;
        d.state.running = { frrConf: '', interfaces: '' };
        await d.apply(keep);
      } catch (e) {
        log(`startup config failed: ${(e as Error).message}`);
      }
    }
    await this.startNetconf(b);
    log(`bootstrapped: ${d.hostname()} ${d.state.managementIp} (NETCONF :${b.netconf.port})`);
  }

  async startNetconf(b: Bootstrap): Promise<void> {
    const d = this.dev;
    this.server = new NetconfServer({
      hostKeys: [this.hostKey()],
      authenticate: staticUsers([{ username: b.credentials.username, password: b.credentials.password }]),
      capabilities: [CAP_FRR, CAP_DEVICE],
    });
    const nc = new NetconfDevice({
      id: this.cfg.node,
      running: wrapFrr(d.state.running),
      hooks: hooksFor(d, log),
      facts: { hostname: d.hostname(), model: this.cfg.model, serial: this.cfg.serial, osName: 'FRR', osVersion: d.state.osVersion ?? '' },
    });
    nc.registerRpc('load-configuration', loadConfigurationRpc);
    nc.registerRpc('get-facts', factsRpc(d));
    nc.registerRpc('install-software', installSoftwareRpc(d, (v, s) => void this.reboot(v, s)));
    nc.on('event', (ev: { type: string; reason?: string; error?: string }) => {
      if (ev.type === 'rollback') log(`confirmed commit rolled back (${ev.reason})${ev.error ? `: ${ev.error}` : ''}`);
      if (ev.type === 'commit' || ev.type === 'rollback') d.writeStatus({ netconf: true });
    });
    this.ncDevice = nc;
    this.listener = await this.server.listen(nc, { host: d.state.managementIp, port: b.netconf.port });
    d.statusOverride = undefined;
    d.writeStatus({ netconf: true });
  }

  async stopNetconf(): Promise<void> {
    const nc = this.ncDevice;
    if (nc?.pending) await nc.exclusive(() => nc.rollbackPending('session-end'));
    await this.listener?.close();
    nc?.dispose();
    this.listener = undefined;
    this.ncDevice = undefined;
  }

  /** install-software: daemons stop, ports flap, NETCONF goes away, and all come back on `version`. */
  async reboot(version: string, seconds: number): Promise<void> {
    const d = this.dev;
    log(`install-software ${version}: rebooting for ${seconds} s`);
    d.phase = 'rebooting';
    d.statusOverride = 'rebooting';
    d.writeStatus({ netconf: false });
    await this.stopNetconf();
    await d.stopAll();
    await d.portsDown();
    // a reboot loses the kernel netdevs: they come back from the saved config
    for (const name of Object.keys(d.state.netdev.created)) await run(['ip', 'link', 'del', name]);
    d.state.osVersion = version;
    d.saveState();
    await sleep(seconds * 1000);
    await this.boot();
  }

  async shutdown(): Promise<void> {
    clearTimeout(this.ztpRestartTimer);
    try { await this.stopNetconf(); } catch { /* exiting */ }
    await this.dev.stopAll();
  }
}

async function fetchBootstrap(url: string): Promise<Bootstrap> {
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(BOOTSTRAP_FETCH_MS), redirect: 'error' });
      if (res.status >= 200 && res.status < 300) return parseBootstrap(await res.text());
      last = `HTTP ${res.status}`;
      if (res.status >= 400 && res.status < 500) break;
    } catch (e) {
      last = (e as Error).message;
      if (last.startsWith('bootstrap:')) throw e;
    }
    await sleep(2000);
  }
  throw new Error(`bootstrap ${url}: ${last}`);
}

async function main(): Promise<void> {
  const runDir = arg('--run');
  if (!runDir) {
    process.stderr.write('usage: main.js --run <node run directory holding device.json>\n');
    process.exit(2);
  }
  const cfg = JSON.parse(readFileSync(join(runDir, 'device.json'), 'utf8')) as DeviceConfig;
  const agent = new Agent(cfg);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping`);
    void agent.shutdown().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 8000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGUSR2', () => void agent.onLease());
  // a factory-default device has nothing listening yet: keep the process (the device) alive
  setInterval(() => undefined, 1 << 30);
  try {
    await agent.boot();
  } catch (e) {
    log(`boot failed: ${(e as Error).stack ?? e}`);
    agent.dev.writeStatus({ error: (e as Error).message });
    await agent.shutdown();
    process.exit(1);
  }
  // a lease may have arrived while booting
  if (!agent.dev.state.bootstrap && existsSync(join(runDir, 'lease.env'))) void agent.onLease();
}

if (require.main === module) void main();

export { unwrapFrr };
