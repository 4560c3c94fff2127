/**
 * Every bad-peer case of issue 3 (and the hostile-device limits of issue 12) against a
 * misbehaving ssh2 server: each gives a typed error naming the device, never crashes, leaves
 * no session or socket behind, and no promise rejection unhandled.
 */
import { startBadServer, BadBehaviour, BadServer } from '../helpers/netconfd-bad';
import {
  NetconfClient,
  MemoryHostKeyStore,
  resetHostKey,
  hostKeyFingerprint,
} from '../../src/netconf/client';
import {
  HostKeyChangedError,
  NetconfAuthError,
  NetconfConnectError,
  NetconfError,
  NetconfProtocolError,
  NetconfSessionClosedError,
  NetconfTimeoutError,
} from '../../src/netconf/errors';
import { utils } from 'ssh2';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/** the rejection of `p` (fails the test if it resolves) */
async function failure<E = NetconfError>(p: Promise<unknown>): Promise<E> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as E,
  );
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => { unhandled.push(e); };
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('NETCONF client against a misbehaving server', () => {
  let srv: BadServer | undefined;
  let baseline = 0;
  beforeEach(() => {
    baseline = tcpHandles();
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  async function connect(behaviour: BadBehaviour, extra: Partial<Parameters<typeof NetconfClient.connect>[0]> = {}) {
    srv = await startBadServer(behaviour);
    // baseline includes the server's listening socket
    baseline = tcpHandles();
    return NetconfClient.connect({
      host: '127.0.0.1',
      port: srv.port,
      deviceId: 'leaf7',
      username: 'u',
      password: 'p',
      connectTimeoutMs: 5000,
      ...extra,
    });
  }

  async function expectNoLeak(c: NetconfClient): Promise<void> {
    await c.closed; // the ssh connection is fully closed
    await waitFor(() => srv!.openConnections() === 0);
    await waitFor(() => tcpHandles() === baseline);
    expect(c.isOpen).toBe(false);
    expect(c.inFlight).toBe(0);
  }

  async function faultCase(behaviour: BadBehaviour): Promise<NetconfError> {
    const c = await connect(behaviour);
    expect(c.sessionId).toBe(7);
    expect(c.framing).toBe('chunked');
    const p = c.getConfig('running');
    const rpc = await srv!.rpcSeen; // barrier: the RPC reached the server before the fault
    expect(rpc).toContain('<get-config>');
    const err = await p.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as NetconfError,
    );
    expect(err).toBeInstanceOf(NetconfError);
    expect(err.device).toBe(`leaf7 (127.0.0.1:${srv!.port})`);
    expect(err.message.startsWith(`leaf7 (127.0.0.1:${srv!.port}): `)).toBe(true);
    // later calls fail fast with the same cause, never hang
    await expect(c.getConfig('running')).rejects.toBeInstanceOf(NetconfSessionClosedError);
    await expectNoLeak(c);
    return err;
  }

  it('peer closes mid-reply -> NetconfSessionClosedError "in the middle of a reply"', async () => {
    const err = await faultCase('close-mid-reply');
    expect(err).toBeInstanceOf(NetconfSessionClosedError);
    expect(err.message).toMatch(/closed by the device in the middle of a reply/);
  });

  it('garbage framing -> NetconfProtocolError GARBAGE', async () => {
    const err = await faultCase('garbage-framing');
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect((err as NetconfProtocolError).code).toBe('GARBAGE');
    expect(err.message).toMatch(/bad framing from device: chunked framing: expected LF/);
  });

  it('chunk header over the limit -> NetconfProtocolError CHUNK_TOO_LARGE', async () => {
    const err = await faultCase('huge-chunk-header');
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect((err as NetconfProtocolError).code).toBe('CHUNK_TOO_LARGE');
  });

  it('unknown message-id -> NetconfProtocolError UNKNOWN_MESSAGE_ID', async () => {
    const err = await faultCase('unknown-message-id');
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect((err as NetconfProtocolError).code).toBe('UNKNOWN_MESSAGE_ID');
    expect(err.message).toMatch(/unknown message-id '999999'/);
  });

  it('a second reply to the same message-id -> the first resolves, then NetconfProtocolError DUPLICATE_MESSAGE_ID ends the session', async () => {
    const c = await connect('duplicate-message-id');
    const closed = new Promise<NetconfError>((r) => c.once('close', r));
    expect(await c.getConfig('running')).toContain('<x>');
    const err = await closed;
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect((err as NetconfProtocolError).code).toBe('DUPLICATE_MESSAGE_ID');
    expect(err.message).toBe(`leaf7 (127.0.0.1:${srv!.port}): second reply to message-id '1', which was already answered`);
    await expect(c.getConfig('running')).rejects.toBeInstanceOf(NetconfSessionClosedError);
    await expectNoLeak(c);
  });

  it('a reply over maxMessageSize -> MESSAGE_TOO_LARGE after the first chunk that crosses it', async () => {
    const c = await connect('huge-reply', { maxMessageSize: 1024 * 1024 });
    const err = await failure<NetconfProtocolError>(c.getConfig('running'));
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    expect(err.message).toMatch(/^leaf7 \(127\.0\.0\.1:\d+\): bad framing from device: chunked framing: message would reach \d+ bytes, limit 1048576$/);
    await expectNoLeak(c);
  });

  it('an endless reply -> MESSAGE_TOO_LARGE: the client stops reading at the limit, the device cannot make it buffer more', async () => {
    const c = await connect('endless-reply', { maxMessageSize: 1024 * 1024 });
    const t0 = Date.now();
    const err = await failure<NetconfProtocolError>(c.getConfig('running'));
    expect(err.code).toBe('MESSAGE_TOO_LARGE');
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expectNoLeak(c);
    // what the device got out before the client hung up: the limit plus what was in flight
    expect(await srv!.lastWritten).toBeLessThan(1024 * 1024 + 8 * 1024 * 1024);
  });

  it('a hello that never ends -> NetconfProtocolError HELLO at maxHelloSize, long before the connect timeout', async () => {
    const t0 = Date.now();
    const err = await failure<NetconfProtocolError>(connect('endless-hello', { maxHelloSize: 64 * 1024, connectTimeoutMs: 20_000 }));
    expect(err).toBeInstanceOf(NetconfProtocolError);
    expect(err.code).toBe('HELLO');
    expect(err.message).toMatch(/^leaf7 \(127\.0\.0\.1:\d+\): server hello larger than 65536 bytes \(maxHelloSize\)/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await srv!.lastWritten).toBeLessThan(64 * 1024 + 8 * 1024 * 1024);
    await waitFor(() => srv!.openConnections() === 0);
    await waitFor(() => tcpHandles() === baseline);
  });

  it('never answers -> NetconfTimeoutError, and the session is closed', async () => {
    const c = await connect('never-answer', { rpcTimeoutMs: 300 });
    const p = c.getConfig('running');
    await srv!.rpcSeen;
    const err = await failure(p);
    expect(err).toBeInstanceOf(NetconfTimeoutError);
    expect((err as NetconfTimeoutError).operation).toBe('get-config');
    expect(err.message).toBe(`leaf7 (127.0.0.1:${srv!.port}): get-config got no reply within 300 ms; session closed (outcome unknown)`);
    await expectNoLeak(c);
  });

  it('no hello -> connect timeout naming the stage', async () => {
    // generous: the SSH handshake (pure JS crypto) must finish first, even on a loaded machine
    const err = await failure(connect('no-hello', { connectTimeoutMs: 4000 }));
    expect(err).toBeInstanceOf(NetconfConnectError);
    expect(err.message).toMatch(/leaf7 .*connect timed out after 4000 ms \(waiting for the server hello\)/);
    await waitFor(() => srv!.openConnections() === 0);
    await waitFor(() => tcpHandles() === baseline);
  });

  it('refuses auth -> NetconfAuthError naming the user', async () => {
    const err = await failure(connect('refuse-auth'));
    expect(err).toBeInstanceOf(NetconfAuthError);
    expect(err.message).toBe(`leaf7 (127.0.0.1:${srv!.port}): authentication failed for user u`);
    expect(srv!.authAttempts).toBeGreaterThanOrEqual(1);
    await waitFor(() => srv!.openConnections() === 0);
    await waitFor(() => tcpHandles() === baseline);
  });

  it('nobody listening -> NetconfConnectError ECONNREFUSED', async () => {
    srv = await startBadServer('never-answer');
    const port = srv.port;
    await srv.close();
    srv = undefined;
    const err = await failure(NetconfClient.connect({ host: '127.0.0.1', port, username: 'u', password: 'p' }));
    expect(err).toBeInstanceOf(NetconfConnectError);
    expect(err.message).toBe(`127.0.0.1:${port}: cannot connect: ECONNREFUSED`);
    await waitFor(() => tcpHandles() === baseline);
  });

  it('host key: trusted on first use, a changed key fails with HostKeyChangedError, RMA reset trusts the new one', async () => {
    const store = new MemoryHostKeyStore();
    const base = tcpHandles();
    const keyA = utils.generateKeyPairSync('ed25519');
    srv = await startBadServer('never-answer', keyA);
    const fpA = hostKeyFingerprint((utils.parseKey(keyA.public) as { getPublicSSH(): Buffer }).getPublicSSH());
    const c1 = await NetconfClient.connect({ host: '127.0.0.1', port: srv.port, deviceId: 'spine1', username: 'u', password: 'p', hostKeyStore: store });
    expect(await store.get('spine1')).toBe(fpA);
    expect(c1.hostKey).toBe(fpA);
    c1.destroy();
    await c1.closed;
    await srv.close();

    // the "same device" comes back with another key
    srv = await startBadServer('never-answer');
    const err = await failure<HostKeyChangedError>(
      NetconfClient.connect({ host: '127.0.0.1', port: srv.port, deviceId: 'spine1', username: 'u', password: 'p', hostKeyStore: store }),
    );
    expect(err).toBeInstanceOf(HostKeyChangedError);
    expect(err.device).toBe(`spine1 (127.0.0.1:${srv.port})`);
    expect(err.expected).toBe(fpA);
    expect(err.actual).not.toBe(fpA);
    expect(err.message).toMatch(/SSH host key changed \(pinned SHA256:.*, presented SHA256:.*\); refusing to connect/);
    expect(srv.authAttempts).toBe(0); // no credentials were sent to the impostor
    expect(await store.get('spine1')).toBe(fpA);
    await waitFor(() => tcpHandles() === base && srv!.openConnections() === 0);

    await resetHostKey(store, 'spine1');
    const c2 = await NetconfClient.connect({ host: '127.0.0.1', port: srv.port, deviceId: 'spine1', username: 'u', password: 'p', hostKeyStore: store });
    expect(await store.get('spine1')).toBe(err.actual);
    c2.destroy();
    await c2.closed;
    await waitFor(() => tcpHandles() === base && srv!.openConnections() === 0);
  });
  it('a frozen peer (SIGSTOP) is detected by SSH keepalives: pending RPCs fail, no hang', async () => {
    // a server in its own process, so it can be frozen: it sends a hello and answers nothing
    const script = `
      const { Server, utils } = require(${JSON.stringify(join(__dirname, '../../node_modules/ssh2'))});
      const k = utils.generateKeyPairSync('ed25519');
      const hello = '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities><session-id>3</session-id></hello>]]>]]>';
      const srv = new Server({ hostKeys: [k.private] }, (c) => {
        c.on('error', () => {});
        c.on('authentication', (ctx) => ctx.accept());
        c.on('ready', () => c.on('session', (a) => a().on('subsystem', (acc) => acc().write(hello))));
      });
      srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
      const c = await NetconfClient.connect({
        host: '127.0.0.1',
        port,
        deviceId: 'frozen1',
        username: 'u',
        password: 'p',
        keepaliveIntervalMs: 200,
        keepaliveCountMax: 2,
        rpcTimeoutMs: 60_000,
      });
      expect(c.framing).toBe('eom');
      child.kill('SIGSTOP');
      const t0 = Date.now();
      const err = await failure(c.getConfig('running'));
      expect(Date.now() - t0).toBeLessThan(30_000); // far below the 60 s RPC timeout
      expect(err).toBeInstanceOf(NetconfSessionClosedError);
      expect(err.message).toMatch(/^frozen1 \(127\.0\.0\.1:\d+\): SSH error: Keepalive timeout/);
      c.destroy();
      await c.closed;
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});
