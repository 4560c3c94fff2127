// The RMA job (issue 15): a dead device is replaced by a new box with another serial and the
// same identity. One device, fabric lock, progress, log, cancel (between steps).
//
//   identity  state `rma` (no push, drift or upgrade touches it), serial -> the new one (the
//             DHCP reservation follows the serial), the old host key unpinned, the old lease
//             freed, DHCP opened for the fabric
//   wait      (bounded, condition-based) the replacement takes the reserved address by ZTP and
//             answers NETCONF with the new serial; its host key is pinned (audit event)
//   os        the fabric's version for its profile (settings.osVersions) installed when the box
//             reports another (the upgrade's install RPC), waited for
//   cabling   LLDP on every stored link of the device: a port cabled elsewhere fails the job
//             naming the ports, before anything is pushed
//   push      the full intended config (commit confirmed, verified: its own sessions up)
//   peers     every managed device whose plan has sessions to it sees them Established
// then `active` again. Any failure leaves the device in `rma` (nothing touches it) with the
// reason in the job; the job never reports success without every step.
import type { Store } from '../../store';
import type { NetconfClient } from '../../netconf/client';
import { RedisLeaseStore, activeFabricFor } from '../../discovery/dhcp';
import { factsFrom } from '../../discovery/facts';
import { liveDhcpServers } from '../../discovery/presence';
import { imageStoreAt } from '../../store/images';
import { NS_FRR } from '../../platforms/frr/config';
import { defaultPush, type DevicePush } from '../push';
import { errorMessage, JobFailedError } from '../errors';
import type { DeviceContext, JobTypeDef } from '../registry';
import { checkDevice, describeVerify } from '../verify';
import { deviceIntent, readDevice, type DeviceIntent, type DeviceOpContext } from '../maintenance/ops';
import { installerFor } from '../upgrade/install';
import { sameVersion, targetVersion } from '../upgrade/version';
import { planFromStore } from '../plan-from-store';
import { checkCabling, lldpReaderFor, parseFrrLldp, type LldpSeen } from './cabling';

export interface RmaParams {
  device: string;
  serial: string;
  /** where devices fetch images: ZTP_BASE_URL (the route fills it in) */
  imageBaseUrl: string;
  requestedBy?: string;
}

export interface RmaSettings {
  /** how long the replacement may take from the job's start to NETCONF with its new serial */
  bootTimeoutMs: number;
  /** how long an OS install may take to come back on the target version */
  installTimeoutMs: number;
  /** how long LLDP may take to hear every stored link, and the peers to see their sessions */
  settleTimeoutMs: number;
  pollMs: number;
  /** twin only: reboot-seconds of install-software */
  rebootSeconds?: number;
}
const DEFAULTS: RmaSettings = { bootTimeoutMs: 30 * 60_000, installTimeoutMs: 15 * 60_000, settleTimeoutMs: 3 * 60_000, pollMs: 1000 };
let settings: RmaSettings = { ...DEFAULTS };
export function configureRma(p?: Partial<RmaSettings>): void { settings = { ...DEFAULTS, ...(p ?? {}) }; }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MANAGED = new Set(['active', 'maintenance', 'upgrading']);

/** Polls `probe` until it returns a value (bounded); `last` says why not, for the error. */
async function until<T>(what: string, ms: number, checkCancel: () => Promise<void>, probe: () => Promise<{ ok: T } | { last: string }>): Promise<T> {
  const end = Date.now() + ms;
  let last = 'not tried';
  for (let i = 0; i < 1_000_000; i++) {
    const r = await probe();
    if ('ok' in r) return r.ok;
    last = r.last;
    if (Date.now() + settings.pollMs > end) break;
    await checkCancel();
    await sleep(settings.pollMs);
  }
  throw new Error(`${what}: not after ${Math.round(ms / 1000)} s (${last})`);
}

async function identity(ctx: DeviceContext<RmaParams>, store: Store): Promise<{ ip: string; oldSerial: string | null; oldKey: string | null }> {
  const dev = await store.getDevice(ctx.fabric, ctx.device);
  if (!dev) throw new Error(`device ${ctx.device} is not in fabric ${ctx.fabric}`);
  if (!dev.managementIp) throw new Error(`device ${ctx.device} has no management address: nothing to keep`);
  const actor = { actor: `job:${ctx.jobId}` };
  // The state first: from here no push, drift or upgrade asks the dead box anything.
  await store.updateDevice(ctx.fabric, ctx.device, { managedState: 'rma', serial: ctx.params.serial }, actor);
  await store.hostKeyStore(ctx.fabric, actor).reset(ctx.device);
  const leases = new RedisLeaseStore(store.redis);
  // The old box's lease holds the reserved address for its MAC: free it for the new box.
  await leases.remove(ctx.fabric, dev.managementIp);
  const { file } = await store.getFabricFile(ctx.fabric);
  await leases.activate(activeFabricFor(file, { jobId: ctx.jobId, untilMs: Date.now() + settings.bootTimeoutMs + 10 * 60_000 }));
  await ctx.log(`state rma; serial ${dev.serial ?? '(none)'} -> ${ctx.params.serial}; DHCP reserves ${dev.managementIp} for ${ctx.params.serial}; old host key unpinned`);
  return { ip: dev.managementIp, oldSerial: dev.serial, oldKey: dev.hostKey };
}

/** Waits for the replacement's NETCONF with the new serial; a key pinned from another box is dropped again. */
async function waitReplacement(ctx: DeviceContext<RmaParams>, op: DeviceOpContext, ip: string): Promise<string> {
  const store = op.store;
  const keys = store.hostKeyStore(ctx.fabric, { actor: `job:${ctx.jobId}` });
  const leases = new RedisLeaseStore(store.redis);
  let leased = false;
  const t0 = Date.now();
  const seeLease = async (): Promise<void> => {
    if (leased) return;
    const l = (await leases.list(ctx.fabric)).find((x) => x.serial === ctx.params.serial && x.state === 'bound');
    if (l) { leased = true; await ctx.log(`${ctx.params.serial} took lease ${l.ip} (${l.mac}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`); }
  };
  const osVersion = await until(`replacement ${ctx.params.serial} on ${ip}`, settings.bootTimeoutMs, ctx.checkCancel, async () => {
    await seeLease();
    try {
      const { client } = await op.dp.connect(store, ctx.fabric, ctx.device);
      try {
        const f = await factsFrom(client);
        if (f.serial !== ctx.params.serial) {
          // Another box answers there (the old one is not dead): its key must not stay pinned.
          await keys.reset(ctx.device);
          return { last: `${ip} answers with serial ${f.serial}, not ${ctx.params.serial}` };
        }
        return { ok: f.osVersion };
      } finally { await client.close().catch(() => undefined); }
    } catch (e) {
      return { last: `${leased ? 'leased, ' : 'no lease yet, '}NETCONF: ${errorMessage(e).split('\n')[0]}` };
    }
  });
  // A fast box can take its lease and answer NETCONF between two polls: look at the lease once more.
  await seeLease();
  if (!leased) await ctx.log(`${ctx.params.serial} answers without a bound lease in the store (a static address?)`);
  await ctx.log(`replacement ${ctx.params.serial} answers NETCONF on ${ip} after ${((Date.now() - t0) / 1000).toFixed(1)} s, reporting ${osVersion}`);
  return osVersion ?? '';
}

async function bringOs(ctx: DeviceContext<RmaParams>, op: DeviceOpContext, intent: DeviceIntent, reported: string): Promise<string | undefined> {
  const store = op.store;
  const dev = (await store.getDevice(ctx.fabric, ctx.device))!;
  const target = targetVersion((await store.getFabric(ctx.fabric))?.settings.osVersions, dev.profile);
  if (target === undefined) { await ctx.log(`os: the fabric sets no version for ${dev.profile ?? 'its profile'}; keeps ${reported}`); return undefined; }
  if (sameVersion(reported, target)) { await ctx.log(`os: already on ${target}`); return undefined; }
  const image = (await imageStoreAt(store, ctx.services.config.dataDir).list()).find((i) => i.platform === intent.platform && sameVersion(i.version, target));
  if (!image) throw new Error(`os: the replacement runs ${reported}, the fabric wants ${target} for ${dev.profile}, and no ${intent.platform} image carries ${target} (add one: POST /images)`);
  const { client } = await op.dp.connect(store, ctx.fabric, ctx.device);
  try {
    await installerFor(intent.platform)(client, { version: image.version, url: `${ctx.params.imageBaseUrl}/images/${encodeURIComponent(image.name)}/${image.sha256}`, rebootSeconds: settings.rebootSeconds });
  } finally { await client.close().catch(() => undefined); }
  await ctx.log(`os: ${reported} -> ${target}: ${image.name} install accepted; waiting for the reboot`);
  const got = await until(`os ${target}`, settings.installTimeoutMs, ctx.checkCancel, async () => {
    try {
      const { osVersion } = await readDevice(op);
      return sameVersion(osVersion, target) ? { ok: osVersion } : { last: `reports ${osVersion}` };
    } catch (e) { return { last: `unreachable: ${errorMessage(e).split('\n')[0]}` }; }
  });
  await store.updateDevice(ctx.fabric, ctx.device, { osVersion: got }, { actor: `job:${ctx.jobId}` });
  await ctx.log(`os: back on ${got}`);
  return got;
}

async function readLldp(op: DeviceOpContext): Promise<LldpSeen[]> {
  const { client, platform } = await op.dp.connect(op.store, op.fabric, op.device);
  try { return await lldpNeighbors(client, platform); } finally { await client.close().catch(() => undefined); }
}

/** The device's LLDP neighbours over an open session, by its platform's reader. */
export async function lldpNeighbors(client: NetconfClient, platform: string): Promise<LldpSeen[]> {
  if (platform === 'frr') return parseFrrLldp(await client.get(`<frr-state xmlns="${NS_FRR}"/>`));
  // Others answer an operational RPC (Junos: get-lldp-neighbors-information).
  const reader = lldpReaderFor(platform);
  if (!reader) throw new Error(`LLDP re-check: no NETCONF LLDP reader for platform ${platform}`);
  return reader.parse((await client.rpc(reader.rpc)).xml);
}

async function checkCablingStep(ctx: DeviceContext<RmaParams>, op: DeviceOpContext): Promise<number> {
  const store = op.store;
  const links = (await store.listLinks(ctx.fabric)).map((l) => ({ a: l.a, b: l.b }));
  const aliases = new Map<string, string>();
  for (const d of await store.listDevices(ctx.fabric)) {
    if (d.hostname) aliases.set(d.hostname, d.name);
    if (d.serial) aliases.set(d.serial, d.name);
  }
  let anomalies: ReturnType<typeof checkCabling> = [];
  const mine = links.filter((l) => l.a.device === ctx.device || l.b.device === ctx.device).length;
  // LLDP needs a few announcements after the boot: wait (bounded) while a port hears nothing;
  // a port that hears the wrong peer is final at once.
  try {
    await until('LLDP', settings.settleTimeoutMs, ctx.checkCancel, async () => {
      anomalies = checkCabling(ctx.device, links, await readLldp(op).catch(() => []), aliases);
      if (!anomalies.length) return { ok: true };
      if (anomalies.some((a) => a.seen)) return { ok: false };
      return { last: anomalies.map((a) => a.message).join('; ') };
    });
  } catch { /* anomalies say what */ }
  if (anomalies.length) {
    throw new Error(`cabling: ${anomalies.map((a) => a.message).join('; ')} (recable the ports as stored, or change the links, then POST the RMA again with retry)`);
  }
  await ctx.log(`cabling: LLDP sees all ${mine} stored links on the same ports`);
  return mine;
}

async function verifyPeers(ctx: DeviceContext<RmaParams>, op: DeviceOpContext): Promise<string[]> {
  const store = op.store;
  const { plans, allocations } = await planFromStore(store, ctx.fabric, false);
  const states = new Map((await store.listDevices(ctx.fabric)).map((d) => [d.name, d]));
  const others = plans.filter((p) => p.name !== ctx.device && MANAGED.has(states.get(p.name)?.managedState ?? '') && states.get(p.name)?.managementIp);
  const peers: string[] = [];
  await until('peers\' sessions', settings.settleTimeoutMs, ctx.checkCancel, async () => {
    const bad: string[] = [];
    peers.length = 0;
    for (const p of others) {
      try {
        const { state } = await readDevice({ ...op, device: p.name }, { state: true });
        const r = checkDevice({ plan: p, state: state!, loopbacks: allocations.loopbacks });
        const planned = checkDevice({ plan: p, state: { bgp: [], routes: [] }, loopbacks: allocations.loopbacks }).blame.includes(ctx.device);
        if (planned) peers.push(p.name);
        if (r.blame.includes(ctx.device)) bad.push(`${p.name}: ${describeVerify(r)}`);
      } catch (e) {
        bad.push(`${p.name}: unreachable (${errorMessage(e).split('\n')[0]})`);
      }
    }
    return bad.length ? { last: bad.join('; ') } : { ok: true };
  });
  await ctx.log(`peers: ${peers.length ? peers.join(', ') : 'none'} see their sessions to ${ctx.device} Established`);
  return peers;
}

async function rmaDevice(ctx: DeviceContext<RmaParams>, dp: DevicePush): Promise<Record<string, unknown>> {
  const store = ctx.services.store as Store;
  const op: DeviceOpContext = { jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, store, dp, log: ctx.log, checkCancel: ctx.checkCancel };
  const leases = new RedisLeaseStore(store.redis);
  await ctx.step('identity');
  const intent = await deviceIntent(store, ctx.fabric, ctx.device);
  const id = await identity(ctx, store);
  try {
    await ctx.step('wait');
    let version = await waitReplacement(ctx, op, id.ip);
    const newKey = (await store.getDevice(ctx.fabric, ctx.device))?.hostKey ?? null;
    await store.appendEvent(ctx.fabric, {
      actor: `job:${ctx.jobId}`, action: 'device.rma.hostkey', object: `device/${ctx.device}`,
      details: { oldSerial: id.oldSerial, serial: ctx.params.serial, oldFingerprint: id.oldKey, fingerprint: newKey, requestedBy: ctx.params.requestedBy ?? null },
    });
    await ctx.log(`host key of ${ctx.params.serial} pinned: ${newKey ?? '(none)'}`);
    await store.updateDevice(ctx.fabric, ctx.device, { osVersion: version }, { actor: `job:${ctx.jobId}` });
    await ctx.step('os');
    version = (await bringOs(ctx, op, intent, version)) ?? version;
    await ctx.step('cabling');
    const links = await checkCablingStep(ctx, op);
    await ctx.step('push');
    const r = await dp.push({ jobId: ctx.jobId, fabric: ctx.fabric, device: ctx.device, plan: intent.plan, platform: intent.platform, files: intent.files, store, loopbacks: intent.loopbacks, log: ctx.log, checkCancel: ctx.checkCancel });
    await ctx.step('peers');
    const peers = await verifyPeers(ctx, op);
    await store.updateDevice(ctx.fabric, ctx.device, { managedState: 'active' }, { actor: `job:${ctx.jobId}` });
    await store.clearNeedsConfig(ctx.fabric, [ctx.device]);
    await ctx.log(`${ctx.device} replaced by ${ctx.params.serial}: managed again`);
    return { serial: ctx.params.serial, oldSerial: id.oldSerial, managementIp: id.ip, osVersion: version, links, peers, committed: r?.committed === true };
  } catch (e) {
    await ctx.log(`left in rma: ${errorMessage(e)}`);
    throw e;
  } finally {
    // DHCP for this fabric closes again whatever happened (a later RMA opens it anew).
    await leases.deactivate(ctx.fabric).catch(() => undefined);
  }
}

/** `device`: how devices are reached and pushed (default: the service's). */
export function rmaJob(o: { device?: DevicePush } = {}): JobTypeDef<RmaParams> {
  const dp = o.device ?? defaultPush;
  return {
    type: 'rma',
    queue: 'autoconfigure',
    fabricLock: true,
    deviceSteps: [{ name: 'identity', weight: 1 }, { name: 'wait', weight: 6 }, { name: 'os', weight: 3 }, { name: 'cabling', weight: 1 }, { name: 'push', weight: 3 }, { name: 'peers', weight: 2 }],
    attempts: 1,
    plan: async (ctx) => {
      // Without a DHCP server the replacement can never ZTP: refuse before anything changes.
      if (!(await liveDhcpServers(ctx.services.redis)).length) {
        throw new Error('RMA needs the DHCP server on the management segment (the replacement boots by ZTP) and none is running: start the service with DHCP_INTERFACE=<interface>');
      }
      await ctx.log(`RMA of ${ctx.params.device}: replacement serial ${ctx.params.serial}`);
      return { devices: [{ device: ctx.params.device }] };
    },
    runDevice: (ctx) => rmaDevice(ctx, dp),
    finalize: async (ctx) => {
      const o = ctx.devices[ctx.params.device];
      if (!o || o.state !== 'succeeded') {
        throw new JobFailedError(`RMA of ${ctx.params.device} not done (${o?.error ?? o?.state ?? 'never ran'}); the device stays in rma: nothing is pushed to it`, { device: ctx.params.device, serial: ctx.params.serial });
      }
      return o.result;
    },
  };
}
