/**
 * The NETCONF server core (src/lab/netconf-server), driven by the client over real SSH on
 * loopback: datastores, locks, confirmed commit semantics, hooks, Junos RPCs, many devices.
 */
import { NetconfServer, NetconfDevice, DeviceEvent, generateHostKey, staticUsers, ApplyContext } from '../../src/lab/netconf-server';
import { NetconfClient, NetconfClientOptions } from '../../src/netconf/client';
import { NetconfAuthError, NetconfRpcError, NetconfSessionClosedError, RpcError } from '../../src/netconf/errors';
import { pushConfig, TransactionError } from '../../src/netconf/transaction';

async function failure<E = NetconfRpcError>(p: Promise<unknown>): Promise<E> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as E,
  );
}

/** resolves with the first device event matching `pred` */
function nextEvent(dev: NetconfDevice, pred: (e: DeviceEvent) => boolean, ms = 10_000): Promise<DeviceEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      dev.off('event', on);
      reject(new Error('event not seen'));
    }, ms);
    const on = (e: DeviceEvent) => {
      if (pred(e)) {
        clearTimeout(t);
        dev.off('event', on);
        resolve(e);
      }
    };
    dev.on('event', on);
  });
}

const SYS = (host: string) => `<system xmlns="urn:example:system"><hostname>${host}</hostname></system>`;
const IFS = (...names: string[]) =>
  `<interfaces xmlns="urn:example:if">${names.map((n) => `<interface><name>${n}</name><mtu>9216</mtu></interface>`).join('')}</interfaces>`;

describe('NETCONF server core', () => {
  const userKey = generateHostKey(); // an Ed25519 pair serves as a user key too
  const server = new NetconfServer({
    hostKeys: [generateHostKey().private],
    authenticate: staticUsers([{ username: 'admin', password: 'admin123', publicKeys: [userKey.public] }]),
  });
  const clients: NetconfClient[] = [];
  const applied: { config: string; reason: ApplyContext['reason'] }[] = [];
  let rejectApply: string | undefined;
  let dev: NetconfDevice;
  let port = 0;

  beforeAll(async () => {
    dev = new NetconfDevice({
      id: 'leaf1',
      running: SYS('leaf1') + IFS('swp1'),
      hooks: {
        validate: (cfg) => {
          if (cfg.includes('<mtu>0</mtu>')) throw new RpcError('invalid-value', 'mtu must be 68..9216', { path: '/interfaces/interface/mtu', appTag: 'mtu-range' });
        },
        apply: (cfg, ctx) => {
          if (rejectApply && cfg.includes(rejectApply)) throw new Error(`FRR refused the config: ${rejectApply}`);
          applied.push({ config: cfg, reason: ctx.reason });
        },
        getState: () => '<bgp xmlns="urn:example:state"><established>3</established></bgp>',
      },
    });
    port = (await server.listen(dev, { host: '127.0.0.1', port: 0 })).port;
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    dev.dispose();
  });

  beforeEach(async () => {
    applied.length = 0;
    rejectApply = undefined;
  });

  async function session(extra: Partial<NetconfClientOptions> = {}, p = port): Promise<NetconfClient> {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: p, deviceId: 'leaf1', username: 'admin', password: 'admin123', ...extra });
    clients.push(c);
    return c;
  }

  it('hello: capabilities, session ids, chunked framing; ssh key auth; bad password refused', async () => {
    const a = await session();
    const b = await session({ password: undefined, privateKey: userKey.private });
    expect(b.sessionId).toBe(a.sessionId + 1);
    expect(a.framing).toBe('chunked');
    expect(a.hasCapability('urn:ietf:params:netconf:capability:confirmed-commit:1.1')).toBe(true);
    expect(a.isJunos).toBe(false);
    const err = await failure<NetconfAuthError>(session({ password: 'wrong' }));
    expect(err).toBeInstanceOf(NetconfAuthError);
    await a.close();
    await b.close();
  });

  it('get-config with a subtree filter; get adds operational state', async () => {
    const c = await session();
    expect(await c.getConfig('running')).toBe(SYS('leaf1') + IFS('swp1'));
    expect(await c.getConfig('running', '<system xmlns="urn:example:system"/>')).toBe(SYS('leaf1'));
    expect(await c.getConfig('running', '<interfaces xmlns="urn:example:if"><interface><name>swp1</name></interface></interfaces>')).toBe(IFS('swp1'));
    expect(await c.getConfig('running', '<interfaces xmlns="urn:example:if"><interface><name>swp9</name></interface></interfaces>')).toBe('');
    const all = await c.get('<bgp xmlns="urn:example:state"/>');
    expect(all).toBe('<bgp xmlns="urn:example:state"><established>3</established></bgp>');
    await c.close();
  });

  it('edit-config merges list entries by name, honours operation="delete", default-operation replace; running untouched until commit', async () => {
    const c = await session();
    await c.editConfig({ config: IFS('swp2') });
    expect(await c.getConfig('candidate', '<interfaces xmlns="urn:example:if"/>')).toBe(IFS('swp1', 'swp2'));
    await c.editConfig({
      config: '<interfaces xmlns="urn:example:if" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface nc:operation="delete"><name>swp1</name></interface></interfaces>',
    });
    expect(await c.getConfig('candidate', '<interfaces xmlns="urn:example:if"/>')).toBe(IFS('swp2'));
    const missing = await failure(
      c.editConfig({ config: '<interfaces xmlns="urn:example:if" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface nc:operation="delete"><name>swp7</name></interface></interfaces>' }),
    );
    expect(missing.tag).toBe('data-missing');
    await c.editConfig({ config: SYS('x'), defaultOperation: 'replace' });
    expect(await c.getConfig('candidate')).toBe(SYS('x'));
    expect(await c.getConfig('running')).toBe(SYS('leaf1') + IFS('swp1'));
    const running = await failure(c.editConfig({ target: 'running', config: SYS('y') }));
    expect(running.tag).toBe('invalid-value');
    await c.discardChanges();
    expect(await c.getConfig('candidate')).toBe(SYS('leaf1') + IFS('swp1'));
    expect(applied).toEqual([]);
    await c.close();
  });

  it('locks: lock-denied names the holder, edits by others are in-use, a dirty candidate cannot be locked, session end releases and discards', async () => {
    const a = await session();
    const b = await session();
    await a.lock('candidate');
    const denied = await failure(b.lock('candidate'));
    expect(denied.tag).toBe('lock-denied');
    expect(denied.info).toEqual({ 'session-id': String(a.sessionId) });
    expect((await failure(b.editConfig({ config: SYS('b') }))).tag).toBe('in-use');
    expect((await failure(b.unlock('candidate'))).tag).toBe('operation-failed');
    await a.editConfig({ config: SYS('a') });
    const ended = nextEvent(dev, (e) => e.type === 'session-end' && e.sessionId === a.sessionId);
    a.destroy();
    await ended;
    expect(dev.locks.candidate).toBeUndefined();
    expect(dev.candidate).toBe(dev.running); // the holder's uncommitted edit is gone
    await b.editConfig({ config: SYS('b') });
    const dirty = await failure(b.lock('candidate'));
    expect(dirty.tag).toBe('lock-denied');
    expect(dirty.rpcMessage).toMatch(/uncommitted changes/);
    await b.discardChanges();
    await b.lock('candidate');
    await b.unlock('candidate');
    await b.close();
  });

  it('validate and commit: the validate hook rejects with a typed error; apply rejecting leaves running unchanged', async () => {
    const c = await session();
    await c.editConfig({ config: '<interfaces xmlns="urn:example:if"><interface><name>swp1</name><mtu>0</mtu></interface></interfaces>' });
    const v = await failure(c.validate('candidate'));
    expect(v).toMatchObject({ operation: 'validate', tag: 'invalid-value', type: 'application', path: '/interfaces/interface/mtu', rpcMessage: 'mtu must be 68..9216' });
    expect(v.errors[0].appTag).toBe('mtu-range');
    expect((await failure(c.commit())).tag).toBe('invalid-value');
    await c.discardChanges();
    rejectApply = 'swp3';
    await c.editConfig({ config: IFS('swp3') });
    const applyErr = await failure(c.commit());
    expect(applyErr.tag).toBe('operation-failed');
    expect(applyErr.rpcMessage).toBe('FRR refused the config: swp3');
    expect(dev.running).toBe(SYS('leaf1') + IFS('swp1'));
    await c.discardChanges();
    await c.close();
  });

  it('commit confirmed + confirming commit (same session) applies once and keeps the change', async () => {
    const c = await session();
    await c.editConfig({ config: SYS('cc1'), defaultOperation: 'merge' });
    await c.commit({ confirmed: true, confirmTimeout: 600 });
    expect(dev.pending).toBeDefined();
    await c.commit();
    expect(dev.pending).toBeUndefined();
    expect(applied.map((a) => a.reason)).toEqual(['confirmed-commit']);
    expect(dev.running).toContain('<hostname>cc1</hostname>');
    await c.close();
  });

  it('commit confirmed expiry rolls back through apply(previous)', async () => {
    const c = await session();
    const before = dev.running;
    await c.editConfig({ config: SYS('expire') });
    const rolled = nextEvent(dev, (e) => e.type === 'rollback');
    await c.commit({ confirmed: true, confirmTimeout: 1 });
    expect(dev.running).toContain('expire');
    const ev = await rolled;
    expect(ev).toMatchObject({ type: 'rollback', reason: 'timeout' });
    expect(dev.running).toBe(before);
    expect(applied.map((a) => a.reason)).toEqual(['confirmed-commit', 'rollback']);
    expect(applied[1].config).toBe(before);
    expect(await c.getConfig('running')).toBe(before);
    await c.close();
  });

  it('the issuing session ending rolls back a confirmed commit; cancel-commit rolls back; another session cannot confirm without persist', async () => {
    const before = dev.running;
    const a = await session();
    const b = await session();
    await a.editConfig({ config: SYS('drop') });
    await a.commit({ confirmed: true, confirmTimeout: 600 });
    expect((await failure(b.commit())).tag).toBe('in-use');
    expect((await failure(b.cancelCommit())).tag).toBe('in-use');
    const rolled = nextEvent(dev, (e) => e.type === 'rollback');
    a.destroy();
    expect(await rolled).toMatchObject({ reason: 'session-end' });
    expect(dev.running).toBe(before);

    await b.editConfig({ config: SYS('cancel') });
    await b.commit({ confirmed: true, confirmTimeout: 600 });
    await b.cancelCommit();
    expect(dev.running).toBe(before);
    expect((await failure(b.cancelCommit())).rpcMessage).toBe('no confirmed commit is pending');
    await b.close();
  });

  it('persist / persist-id: survives the session, another session confirms with the right persist-id only', async () => {
    const a = await session();
    await a.editConfig({ config: SYS('persist') });
    await a.commit({ confirmed: true, confirmTimeout: 600, persist: 'job-42' });
    await a.close();
    expect(dev.pending?.persist).toBe('job-42');
    const b = await session();
    expect((await failure(b.commit())).tag).toBe('missing-element');
    expect((await failure(b.commit({ persistId: 'job-41' }))).tag).toBe('invalid-value');
    await b.commit({ persistId: 'job-42' });
    expect(dev.pending).toBeUndefined();
    expect(dev.running).toContain('persist');
    await b.close();
  });

  it('kill-session, close-session, unknown RPC, custom RPCs and warnings', async () => {
    const a = await session();
    const b = await session();
    expect((await failure(a.killSession(a.sessionId))).tag).toBe('invalid-value');
    await a.killSession(b.sessionId);
    await b.closed;
    expect(await failure<Error>(b.getConfig())).toBeInstanceOf(NetconfSessionClosedError);
    const unknown = await failure(a.rpc('<frobnicate xmlns="urn:x"/>'));
    expect(unknown).toMatchObject({ tag: 'operation-not-supported', type: 'protocol', operation: 'frobnicate' });
    server.registerRpc('ping', () => ({ xml: '<pong/>' }));
    dev.registerRpc('ping', () => ({ xml: '<pong device="leaf1"/>', warnings: [{ type: 'application', tag: 'operation-failed', severity: 'warning', message: 'slow' }] }));
    const r = await a.rpc('<ping/>');
    expect(r.xml).toContain('<pong device="leaf1"/>');
    expect(r.warnings).toEqual([{ type: 'application', tag: 'operation-failed', severity: 'warning', message: 'slow' }]);
    dev.rpcs.delete('ping');
    expect((await a.rpc('<ping/>')).xml).toContain('<pong/>');
    server.rpcs.delete('ping');
    await a.close();
  });

  it('50 RPCs in flight on one session come back matched', async () => {
    const c = await session();
    const filters = Array.from({ length: 50 }, (_, i) => (i % 2 ? '<system xmlns="urn:example:system"/>' : '<interfaces xmlns="urn:example:if"/>'));
    const res = await Promise.all(filters.map((f) => c.getConfig('running', f)));
    res.forEach((r, i) => expect(r.startsWith(i % 2 ? '<system' : '<interfaces')).toBe(true));
    await c.close();
  });

  it('copy-config: inline config or running into candidate; to running only with writable-running', async () => {
    const c = await session();
    await c.copyConfig({ config: SYS('copied') }, 'candidate');
    expect(await c.getConfig('candidate')).toBe(SYS('copied'));
    await c.copyConfig('running', 'candidate');
    expect(await c.getConfig('candidate')).toBe(dev.running);
    expect((await failure(c.copyConfig({ config: SYS('x') }, 'running'))).tag).toBe('invalid-value');
    await c.close();

    const wr = new NetconfDevice({ id: 'wr', running: SYS('a'), writableRunning: true, hooks: { apply: (cfg) => void applied.push({ config: cfg, reason: 'copy-config' }) } });
    const wl = await server.listen(wr);
    const w = await NetconfClient.connect({ host: '127.0.0.1', port: wl.port, username: 'admin', password: 'admin123' });
    expect(w.hasCapability('urn:ietf:params:netconf:capability:writable-running:1.0')).toBe(true);
    await w.copyConfig({ config: SYS('b') }, 'running');
    expect(wr.running).toBe(SYS('b'));
    await w.editConfig({ target: 'running', config: IFS('swp1') });
    expect(wr.running).toBe(SYS('b') + IFS('swp1'));
    expect(applied.map((a) => a.config)).toEqual([SYS('b'), SYS('b') + IFS('swp1')]);
    await w.close();
    await wl.close();
  });

  it('multi-megabyte configs cross intact in both directions (several chunks each way)', async () => {
    const big = new NetconfDevice({ id: 'big', running: '' });
    const bl = await server.listen(big);
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: bl.port, username: 'admin', password: 'admin123' });
    const entries = Array.from({ length: 30_000 }, (_, i) => `<interface><name>swp${i}</name><description>port ${i} é✓</description></interface>`);
    const cfg = `<interfaces xmlns="urn:example:if">${entries.join('')}</interfaces>`;
    expect(Buffer.byteLength(cfg)).toBeGreaterThan(2 * 1024 * 1024); // > 2 chunks of 1 MiB
    await c.editConfig({ config: cfg });
    await c.commit();
    expect(big.running).toBe(cfg);
    expect(await c.getConfig('running')).toBe(cfg);
    await c.close();
    await bl.close();
  });

  it('one server, many devices on many loopback addresses, each with its own state', async () => {
    const devs = Array.from({ length: 10 }, (_, i) => new NetconfDevice({ id: `sim${i}`, running: SYS(`sim${i}`) }));
    const ls = await Promise.all(devs.map((d, i) => server.listen(d, { host: `127.0.1.${i + 1}`, port: 0 })));
    const cs = await Promise.all(ls.map((l) => NetconfClient.connect({ host: l.host, port: l.port, username: 'admin', password: 'admin123' })));
    const got = await Promise.all(cs.map((c) => c.getConfig('running')));
    expect(got).toEqual(devs.map((_, i) => SYS(`sim${i}`)));
    await Promise.all(cs.map((c) => c.close()));
    await Promise.all(ls.map((l) => l.close()));
  });
});

describe('NETCONF server core: Junos flavour', () => {
  const server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'pw' }]) });
  const CONF = '<configuration><system><host-name>qfx1</host-name></system></configuration>';
  let dev: NetconfDevice;
  let port = 0;
  const applied: string[] = [];
  beforeAll(async () => {
    dev = new NetconfDevice({
      id: 'qfx1',
      junos: true,
      junosMinuteMs: 300, // a Junos "minute" lasts 300 ms here
      running: CONF,
      facts: { hostname: 'qfx1', model: 'qfx5110-48s-4c', serial: 'WS3718350123', osVersion: '21.4R3-S5' },
      hooks: { apply: (cfg) => void applied.push(cfg) },
    });
    port = (await server.listen(dev)).port;
  });
  afterAll(async () => {
    await server.close();
    dev.dispose();
  });
  const connect = () => NetconfClient.connect({ host: '127.0.0.1', port, username: 'admin', password: 'pw', deviceId: 'qfx1' });

  it('facts RPCs and the Junos capability', async () => {
    const c = await connect();
    expect(c.isJunos).toBe(true);
    expect(await c.getSystemInformation()).toMatchObject({ hostname: 'qfx1', model: 'qfx5110-48s-4c', serial: 'WS3718350123', osVersion: '21.4R3-S5' });
    expect(await c.getChassisInventory()).toMatchObject({ serial: 'WS3718350123', description: 'QFX5110-48S-4C' });
    expect(await c.getSoftwareInformation()).toMatchObject({ hostname: 'qfx1', model: 'qfx5110-48s-4c', version: '21.4R3-S5' });
    await c.close();
  });

  it('load-configuration merge / override / text, get-configuration compare rollback gives a diff', async () => {
    const c = await connect();
    await c.loadConfiguration({ action: 'merge', config: '<configuration><interfaces><interface><name>et-0/0/48</name><mtu>9216</mtu></interface></interfaces></configuration>' });
    const diff = await c.getConfigurationDiff(0);
    expect(diff).toContain('+    <interface>');
    expect(diff).toContain('+      <name>et-0/0/48</name>');
    expect(diff).toContain('     <host-name>qfx1</host-name>'); // context line: merge kept it
    await c.loadConfiguration({ action: 'override', config: '<configuration><system><host-name>qfx9</host-name></system></configuration>' });
    expect(await c.getConfiguration('candidate')).toBe('<configuration><system><host-name>qfx9</host-name></system></configuration>');
    expect(await c.getConfigurationDiff()).toMatch(/-\s+<host-name>qfx1<\/host-name>\n\+\s+<host-name>qfx9<\/host-name>/);
    await c.loadConfiguration({ action: 'replace', format: 'text', config: 'system { host-name qfx7; }' });
    expect(await c.getConfiguration('candidate')).toBe('<configuration-text>system { host-name qfx7; }</configuration-text>');
    await c.discardChanges();
    expect(await c.getConfigurationDiff()).toBe('');
    await c.close();
  });

  it('transaction on Junos: commit-configuration confirmed in MINUTES; a failed verify rolls back with load rollback 1 + commit', async () => {
    const c = await connect();
    const sent: string[] = [];
    const origRpc = c.rpc.bind(c);
    c.rpc = (body, opts) => {
      sent.push(body);
      return origRpc(body, opts);
    };
    const err = await failure<TransactionError>(
      pushConfig({
        client: c,
        load: (cl) => cl.loadConfiguration({ action: 'merge', config: '<configuration><system><host-name>qfx2</host-name></system></configuration>' }).then(() => undefined),
        verify: async () => {
          throw new Error('overlay down');
        },
        confirmTimeoutSeconds: 90,
      }),
    );
    expect(err.step).toBe('verify');
    expect(err.result.rolledBack).toBe('junos-rollback');
    expect(err.result.diff).toMatch(/\+\s+<host-name>qfx2<\/host-name>/);
    expect(sent).toContain('<commit-configuration><check/></commit-configuration>');
    expect(sent).toContain('<commit-configuration><confirmed/><confirm-timeout>2</confirm-timeout></commit-configuration>'); // 90 s -> 2 min
    expect(sent).toContain('<load-configuration rollback="1"/>');
    expect(dev.running).toBe(CONF);
    expect(dev.pending).toBeUndefined();
    expect(c.isOpen).toBe(false); // closeWhenDone default
  });

  it('Junos confirmed commit expires after confirm-timeout "minutes"', async () => {
    const c = await connect();
    await c.loadConfiguration({ action: 'merge', config: '<configuration><system><host-name>qfx3</host-name></system></configuration>' });
    const rolled = nextEvent(dev, (e) => e.type === 'rollback');
    await c.commitConfiguration({ confirmed: true, confirmTimeoutMinutes: 1 });
    expect(dev.running).toContain('qfx3');
    await c.close(); // Junos: not bound to the session, still pending
    expect(dev.pending).toBeDefined();
    expect(await rolled).toMatchObject({ reason: 'timeout' });
    expect(dev.running).toBe(CONF);
  });
});
