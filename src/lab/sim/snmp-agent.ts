// One SNMP agent (net-snmp) per simulated device on its own address: system group and
// LLDP-MIB (lldpLocChassisId, lldpLocPortTable, lldpRemTable) for the generated topology.
import type { SimDeviceSpec } from './topology';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const snmp: any = require('net-snmp');

export interface SimSnmpOptions {
  community?: string;
  v3?: { user: string; authKey: string; privKey: string };
  port?: number;
}

// net-snmp's MibNode counts a node's children with Object.keys() at every step of a table
// lookup: O(rows) per varbind, which makes a spine with hundreds of LLDP rows the sim's hot
// spot. Same results without enumerating children on the way: a node holding a value is an
// instance (a leaf); children are only enumerated when the index ends on an inner node.
(() => {
  const proto = Object.getPrototypeOf(snmp.createMib().root);
  if (proto.__dsPatched) return;
  proto.__dsPatched = true;
  const hasChild = (n: any): boolean => {
    // eslint-disable-next-line no-unreachable-loop, guard-for-in
    for (const _k in n.children) return true;
    return false;
  };
  proto.getInstanceNodeForTableRowIndex = function patched(this: any, index: number[]): any {
    let node = this;
    let i = 0;
    for (;;) {
      if (node.value != null) return node; // instances never get children in this sim
      if (i === index.length) return hasChild(node) ? node.getInstanceNodeForTableRow() : (node.value != null ? node : null);
      const part = index[i++];
      const next = part == null ? undefined : node.children[part];
      if (!next) return !hasChild(node) && node.value != null ? node : null;
      node = next;
    }
  };
})();

const T = () => snmp.ObjectType;
const RO = () => snmp.MaxAccess['read-only'];
const NA = () => snmp.MaxAccess['not-accessible'];

function macBuf(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

export interface SimSnmpAgent { close(): Promise<void> }

export function startSnmpAgent(
  dev: SimDeviceSpec,
  peers: Map<string, SimDeviceSpec>,
  o: SimSnmpOptions,
): Promise<SimSnmpAgent> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const agent = snmp.createAgent(
      { port: o.port ?? 161, address: dev.address, disableAuthorization: false },
      (err: Error | null) => {
        // Request-level errors (bad community, ...) land here; they are the client's problem.
        if (err && !settled) { settled = true; reject(err); }
      },
    );
    const auth = agent.getAuthorizer();
    if (o.community) auth.addCommunity(o.community);
    if (o.v3) {
      auth.addUser({
        name: o.v3.user, level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols.sha, authKey: o.v3.authKey,
        privProtocol: snmp.PrivProtocols.aes, privKey: o.v3.privKey,
      });
    }
    const mib = agent.getMib();
    const scalar = (name: string, oid: string, scalarType: number, value: unknown): void => {
      mib.registerProvider({ name, type: snmp.MibProviderType.Scalar, oid, scalarType, maxAccess: RO() });
      mib.setScalarValue(name, value);
    };
    scalar('sysDescr', '1.3.6.1.2.1.1.1', T().OctetString, `FRR-switch ${dev.model} serial ${dev.serial} version ${dev.osVersion}`);
    scalar('sysObjectID', '1.3.6.1.2.1.1.2', T().OID, dev.sysObjectID);
    scalar('sysName', '1.3.6.1.2.1.1.5', T().OctetString, dev.name);
    scalar('lldpLocChassisIdSubtype', '1.0.8802.1.1.2.1.3.1', T().Integer, 4);
    scalar('lldpLocChassisId', '1.0.8802.1.1.2.1.3.2', T().OctetString, macBuf(dev.chassisId));
    scalar('lldpLocSysName', '1.0.8802.1.1.2.1.3.3', T().OctetString, dev.name);
    mib.registerProvider({
      name: 'lldpLocPortTable', type: snmp.MibProviderType.Table, oid: '1.0.8802.1.1.2.1.3.7.1', maxAccess: NA(),
      tableColumns: [
        { number: 1, name: 'lldpLocPortNum', type: T().Integer, maxAccess: NA() },
        { number: 2, name: 'lldpLocPortIdSubtype', type: T().Integer, maxAccess: RO() },
        { number: 3, name: 'lldpLocPortId', type: T().OctetString, maxAccess: RO() },
        { number: 4, name: 'lldpLocPortDesc', type: T().OctetString, maxAccess: RO() },
      ],
      tableIndex: [{ columnName: 'lldpLocPortNum' }],
    });
    const portNum = new Map(dev.ports.map((p) => [p.name, p.num]));
    // LLDP runs on the cabled ports only: the sim stays light (a leaf's 48 server ports would
    // triple the MIB's size for nothing discovery reads).
    const cabled = new Set(dev.neighbors.map((n) => n.localPort));
    for (const p of dev.ports) if (cabled.has(p.name)) mib.addTableRow('lldpLocPortTable', [p.num, 5, p.name, p.name]);
    mib.registerProvider({
      name: 'lldpRemTable', type: snmp.MibProviderType.Table, oid: '1.0.8802.1.1.2.1.4.1.1', maxAccess: NA(),
      tableColumns: [
        { number: 1, name: 'lldpRemTimeMark', type: T().TimeTicks, maxAccess: NA() },
        { number: 2, name: 'lldpRemLocalPortNum', type: T().Integer, maxAccess: NA() },
        { number: 3, name: 'lldpRemIndex', type: T().Integer, maxAccess: NA() },
        { number: 4, name: 'lldpRemChassisIdSubtype', type: T().Integer, maxAccess: RO() },
        { number: 5, name: 'lldpRemChassisId', type: T().OctetString, maxAccess: RO() },
        { number: 6, name: 'lldpRemPortIdSubtype', type: T().Integer, maxAccess: RO() },
        { number: 7, name: 'lldpRemPortId', type: T().OctetString, maxAccess: RO() },
        { number: 8, name: 'lldpRemPortDesc', type: T().OctetString, maxAccess: RO() },
        { number: 9, name: 'lldpRemSysName', type: T().OctetString, maxAccess: RO() },
      ],
      tableIndex: [{ columnName: 'lldpRemTimeMark' }, { columnName: 'lldpRemLocalPortNum' }, { columnName: 'lldpRemIndex' }],
    });
    dev.neighbors.forEach((n, i) => {
      const peer = peers.get(n.peer);
      mib.addTableRow('lldpRemTable', [
        0, portNum.get(n.localPort) ?? 0, i + 1,
        4, macBuf(peer?.chassisId ?? '00:00:00:00:00:00'), 5, n.peerPort, n.peerPort, n.peer,
      ]);
    });
    const sock = agent.listener?.sockets ? Object.values(agent.listener.sockets)[0] as any : undefined;
    const done = (): void => {
      if (settled) return;
      settled = true;
      resolve({ close: () => new Promise<void>((r) => { try { agent.close(() => r()); } catch { r(); } }) });
    };
    if (sock && typeof sock.once === 'function') {
      sock.once('listening', done);
      sock.once('error', (e: Error) => { if (!settled) { settled = true; reject(e); } });
    } else {
      setImmediate(done);
    }
  });
}
