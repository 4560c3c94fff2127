// SNMP reads for discovery (net-snmp): system scalars and the LLDP-MIB neighbor table joined
// with the local port table. v2c and v3 (authPriv, SHA/AES). Errors are one line per device,
// never carrying the community or keys.
import type { SnmpSettings } from '../domain/types';
import type { LldpNeighbor } from './topology';
import { AllowList } from './allow';

// net-snmp ships no types; its surface used here is small.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const snmp: any = require('net-snmp');

export const OID = {
  sysDescr: '1.3.6.1.2.1.1.1.0',
  sysObjectID: '1.3.6.1.2.1.1.2.0',
  sysName: '1.3.6.1.2.1.1.5.0',
  lldpLocChassisId: '1.0.8802.1.1.2.1.3.2.0',
  lldpLocPortEntry: '1.0.8802.1.1.2.1.3.7.1', // .2 IdSubtype .3 Id .4 Desc, index portNum
  lldpRemEntry: '1.0.8802.1.1.2.1.4.1.1', // index timeMark.localPortNum.remIndex
  bgpPeerEntry: '1.3.6.1.2.1.15.3.1', // BGP4-MIB bgpPeerTable, index bgpPeerRemoteAddr
} as const;

/** BGP4-MIB bgpPeerTable columns used, and bgpPeerState's values (RFC 4273). */
export const BGP_PEER = { state: 2, localAddr: 5, remoteAddr: 7, remoteAs: 9 } as const;
const BGP_STATES = ['', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

/** One row of bgpPeerTable: a BGP neighbour of the default instance as the MIB reports it. */
export interface BgpMibPeer { peer: string; state: string; remoteAs: number; localAddress: string }

/** LLDP-MIB column numbers used. */
export const REM = { chassisIdSubtype: 4, chassisId: 5, portIdSubtype: 6, portId: 7, portDesc: 8, sysName: 9 } as const;
export const LOC = { portIdSubtype: 2, portId: 3, portDesc: 4 } as const;

export class SnmpError extends Error {
  constructor(readonly target: string, message: string) {
    super(`snmp ${target}: ${message}`);
    this.name = 'SnmpError';
  }
}

export interface SnmpOptions {
  settings: SnmpSettings;
  port?: number;
  timeoutMs?: number;
  retries?: number;
  allow?: AllowList;
  maxRepetitions?: number;
}

export interface SystemInfo { sysDescr: string; sysObjectID: string; sysName: string }
export interface LldpInfo { chassisId?: string; neighbors: LldpNeighbor[] }

/** One SNMP session to one device. Close it when done. */
export class SnmpDevice {
  private session: any;
  constructor(readonly address: string, private readonly opts: SnmpOptions) {
    opts.allow?.check(address, 'SNMP target');
    const common = { port: opts.port ?? 161, timeout: opts.timeoutMs ?? 2000, retries: opts.retries ?? 1, backoff: 1 };
    const s = opts.settings;
    if ('v3' in s) {
      this.session = snmp.createV3Session(address, {
        name: s.v3.user,
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha,
        authKey: s.v3.authKey,
        privProtocol: snmp.PrivProtocols.aes,
        privKey: s.v3.privKey,
      }, { ...common, version: snmp.Version3 });
    } else {
      this.session = snmp.createSession(address, s.community, { ...common, version: snmp.Version2c });
    }
    // Socket errors surface on the request callbacks; keep the emitter from throwing.
    this.session.on('error', () => undefined);
  }

  close(): void {
    try { this.session.close(); } catch { /* already closed */ }
  }

  private fail(e: unknown): SnmpError {
    const err = e as Error & { name?: string };
    if (err?.name === 'RequestTimedOutError' || /timed out/i.test(err?.message ?? '')) {
      return new SnmpError(this.address, `timeout after ${this.opts.timeoutMs ?? 2000} ms x ${(this.opts.retries ?? 1) + 1} (no answer: wrong address, community or v3 user?)`);
    }
    return new SnmpError(this.address, (err?.message ?? String(e)).split('\n')[0]);
  }

  system(): Promise<SystemInfo> {
    return new Promise((resolve, reject) => {
      this.session.get([OID.sysDescr, OID.sysObjectID, OID.sysName], (e: unknown, vbs: any[]) => {
        if (e) return reject(this.fail(e));
        const bad = vbs.find((v) => snmp.isVarbindError(v));
        if (bad) return reject(new SnmpError(this.address, `${bad.oid}: ${snmp.varbindError(bad)}`));
        resolve({ sysDescr: text(vbs[0].value), sysObjectID: String(vbs[1].value), sysName: text(vbs[2].value) });
      });
    });
  }

  /** Every varbind under `base`, as suffix (after base) -> value. */
  walk(base: string): Promise<Map<string, any>> {
    const out = new Map<string, any>();
    const prefix = `${base}.`;
    return new Promise((resolve, reject) => {
      this.session.subtree(base, this.opts.maxRepetitions ?? 40, (vbs: any[]) => {
        for (const v of vbs) {
          if (snmp.isVarbindError(v)) continue;
          if (v.oid.startsWith(prefix)) out.set(v.oid.slice(prefix.length), v.value);
        }
      }, (e: unknown) => (e ? reject(this.fail(e)) : resolve(out)));
    });
  }

  /**
   * LLDP neighbors: the lldpRemTable columns needed (one GetBulk walks them side by side), then
   * only the lldpLocPortTable rows those neighbors sit on (one GET), not every local port.
   */
  async lldp(): Promise<LldpInfo> {
    const cols = [REM.chassisIdSubtype, REM.chassisId, REM.portIdSubtype, REM.portId, REM.sysName];
    const [rem, chassis] = await Promise.all([
      this.walkColumns(OID.lldpRemEntry, cols),
      this.getOptional(OID.lldpLocChassisId),
    ]);
    const portNums = new Set<string>();
    for (const k of rem.keys()) portNums.add(k.split('.')[2]);
    const locOids: string[] = [];
    for (const n of portNums) for (const c of [LOC.portIdSubtype, LOC.portId, LOC.portDesc]) locOids.push(`${OID.lldpLocPortEntry}.${c}.${n}`);
    const loc = await this.getMany(locOids, OID.lldpLocPortEntry);
    return { chassisId: chassis === undefined ? undefined : formatId(4, chassis), neighbors: joinLldp(loc, rem) };
  }

  /** BGP4-MIB's bgpPeerTable (one GetBulk walk of four columns); [] where the MIB is not served. */
  async bgpPeers(): Promise<BgpMibPeer[]> {
    return bgpPeerRows(await this.walkColumns(OID.bgpPeerEntry, [BGP_PEER.state, BGP_PEER.localAddr, BGP_PEER.remoteAddr, BGP_PEER.remoteAs]));
  }

  /** GETs in batches; result keyed by suffix after `base`; missing instances left out. */
  getMany(oids: string[], base: string): Promise<Map<string, any>> {
    const out = new Map<string, any>();
    const batches: string[][] = [];
    for (let i = 0; i < oids.length; i += 24) batches.push(oids.slice(i, i + 24));
    return Promise.all(batches.map((b) => new Promise<void>((resolve, reject) => {
      this.session.get(b, (e: unknown, vbs: any[]) => {
        if (e) return reject(this.fail(e));
        for (const v of vbs) if (!snmp.isVarbindError(v)) out.set(v.oid.slice(base.length + 1), v.value);
        resolve();
      });
    }))).then(() => out);
  }

  /** Columns of one table walked together with GetBulk; suffix (col.index) -> value. */
  walkColumns(entry: string, columns: number[]): Promise<Map<string, any>> {
    const out = new Map<string, any>();
    const maxRep = this.opts.maxRepetitions ?? 50;
    return new Promise((resolve, reject) => {
      let cursors = columns.map((c) => ({ base: `${entry}.${c}`, at: `${entry}.${c}` }));
      let rounds = 0;
      const step = (): void => {
        if (cursors.length === 0) return resolve(out);
        // Bounded: a table cannot take more GetBulk rounds than this.
        if (++rounds > 10_000) return reject(new SnmpError(this.address, `${entry}: table walk did not end`));
        this.session.getBulk(cursors.map((c) => c.at), 0, Math.max(1, Math.floor(maxRep / cursors.length)), (e: unknown, vbs: any[]) => {
          if (e) return reject(this.fail(e));
          // net-snmp groups a GetBulk reply per requested OID: vbs[i] is column i's rows.
          const done = new Set<number>();
          let any = false;
          cursors.forEach((c, ci) => {
            const rows: any[] = Array.isArray(vbs[ci]) ? vbs[ci] : [vbs[ci]];
            if (rows.length === 0) { done.add(ci); return; }
            for (const v of rows) {
              if (!v || snmp.isVarbindError(v) || typeof v.oid !== 'string' || !v.oid.startsWith(`${c.base}.`)) { done.add(ci); return; }
              out.set(v.oid.slice(entry.length + 1), v.value);
              c.at = v.oid;
              any = true;
            }
          });
          if (!any) return resolve(out);
          cursors = cursors.filter((_, i) => !done.has(i));
          step();
        });
      };
      step();
    });
  }

  private getOptional(oid: string): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      this.session.get([oid], (e: unknown, vbs: any[]) => {
        if (e) return reject(this.fail(e));
        resolve(snmp.isVarbindError(vbs[0]) ? undefined : vbs[0].value);
      });
    });
  }
}

function text(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '');
}

/** LLDP IDs: MAC subtypes as aa:bb:.., names as text. chassis subtype 4 / port subtype 3 = MAC. */
export function formatId(subtype: number | undefined, v: unknown, isPort = false): string {
  const mac = isPort ? subtype === 3 : subtype === 4;
  if (Buffer.isBuffer(v)) {
    const printable = /^[\x20-\x7e]*$/.test(v.toString('latin1'));
    if (mac || !printable) return [...v].map((b) => b.toString(16).padStart(2, '0')).join(':');
    return v.toString('utf8');
  }
  return String(v ?? '');
}

/** Joins lldpRemTable rows with lldpLocPortTable (local ports by number). Pure. */
export function joinLldp(loc: Map<string, any>, rem: Map<string, any>): LldpNeighbor[] {
  const locPorts = new Map<string, { idSubtype?: number; id?: string; desc?: string }>();
  for (const [suffix, v] of loc) {
    const [col, ...idx] = suffix.split('.');
    const key = idx.join('.');
    const p = locPorts.get(key) ?? {};
    if (Number(col) === LOC.portIdSubtype) p.idSubtype = Number(v);
    else if (Number(col) === LOC.portId) p.id = v as any;
    else if (Number(col) === LOC.portDesc) p.desc = text(v);
    locPorts.set(key, p);
  }
  const rows = new Map<string, Record<number, any>>();
  for (const [suffix, v] of rem) {
    const [col, ...idx] = suffix.split('.');
    const key = idx.join('.');
    const r = rows.get(key) ?? {};
    r[Number(col)] = v;
    rows.set(key, r);
  }
  const out: LldpNeighbor[] = [];
  for (const [key, r] of rows) {
    const localPortNum = key.split('.')[1];
    const lp = locPorts.get(localPortNum);
    const lpId = lp?.id === undefined ? undefined : formatId(lp.idSubtype, lp.id, true);
    // ifName (5) and local (7) port IDs are names; otherwise the description names the port.
    const localPort = lp && (lp.idSubtype === 5 || lp.idSubtype === 7 || !lp.desc) && lpId ? lpId : lp?.desc ?? `port${localPortNum}`;
    const subtype = r[REM.portIdSubtype] === undefined ? undefined : Number(r[REM.portIdSubtype]);
    const n: LldpNeighbor = {
      localPort,
      remotePortId: formatId(subtype, r[REM.portId], true),
      remotePortIdSubtype: subtype,
    };
    if (lpId !== undefined && lpId !== localPort) n.localPortId = lpId;
    if (r[REM.chassisId] !== undefined) n.remoteChassisId = formatId(Number(r[REM.chassisIdSubtype]), r[REM.chassisId]);
    if (r[REM.sysName] !== undefined) n.remoteSysName = text(r[REM.sysName]);
    if (r[REM.portDesc] !== undefined && text(r[REM.portDesc]) !== '') n.remotePortDesc = text(r[REM.portDesc]);
    out.push(n);
  }
  return out;
}

/** System scalars and LLDP of one device, closing the session. */
export async function readDevice(address: string, opts: SnmpOptions): Promise<SystemInfo & LldpInfo> {
  const d = new SnmpDevice(address, opts);
  try {
    const [sys, lldp] = await Promise.all([d.system(), d.lldp()]);
    return { ...sys, ...lldp };
  } finally {
    d.close();
  }
}

/** An IpAddress varbind (4 bytes, or net-snmp's dotted string) as a.b.c.d. */
function ipOf(v: unknown): string {
  if (Buffer.isBuffer(v) && v.length === 4) return [...v].join('.');
  return String(v ?? '');
}

/** bgpPeerTable columns (col.a.b.c.d -> value) as rows. Pure. */
export function bgpPeerRows(cols: Map<string, any>): BgpMibPeer[] {
  const rows = new Map<string, Partial<BgpMibPeer>>();
  for (const [suffix, v] of cols) {
    const [col, ...idx] = suffix.split('.');
    const key = idx.join('.');
    const r = rows.get(key) ?? {};
    rows.set(key, r);
    const c = Number(col);
    if (c === BGP_PEER.state) r.state = BGP_STATES[Number(v)] ?? `state ${Number(v)}`;
    else if (c === BGP_PEER.localAddr) r.localAddress = ipOf(v);
    else if (c === BGP_PEER.remoteAddr) r.peer = ipOf(v);
    else if (c === BGP_PEER.remoteAs) r.remoteAs = Number(v);
  }
  return [...rows.entries()].map(([k, r]) => ({ peer: r.peer && r.peer !== '0.0.0.0' ? r.peer : k, state: r.state ?? '?', remoteAs: r.remoteAs ?? 0, localAddress: r.localAddress ?? '0.0.0.0' }))
    .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
}
