/**
 * The server core against misbehaving clients (raw ssh2 client writing bytes into the netconf
 * subsystem): the session ends or answers with rpc-error, the process never crashes, and the
 * device is left with no session and no lock.
 */
import { Client as SshClient } from 'ssh2';
import type { ClientChannel } from 'ssh2';
import { NetconfServer, NetconfDevice, DeviceEvent, generateHostKey, staticUsers, NetconfListener } from '../../src/lab/netconf-server';
import { FramingDecoder, encode } from '../../src/netconf/framing';

const HELLO11 =
  '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>';

interface Raw {
  ch: ClientChannel;
  ssh: SshClient;
  /** messages received after the server hello */
  messages: string[];
  serverHello: Promise<string>;
  closed: Promise<void>;
  next(): Promise<string>;
}

function rawSession(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const ssh = new SshClient();
    ssh.on('error', reject);
    ssh.on('ready', () => {
      ssh.subsys('netconf', (err, ch) => {
        if (err) return reject(err);
        const messages: string[] = [];
        const waiters: ((m: string) => void)[] = [];
        let resolveHello!: (m: string) => void;
        const serverHello = new Promise<string>((r) => (resolveHello = r));
        let gotHello = false;
        const dec: FramingDecoder = new FramingDecoder({
          onMessage: (m) => {
            if (!gotHello) {
              gotHello = true;
              dec.setMode('chunked'); // we always offer base:1.1 in these tests
              resolveHello(m);
              return;
            }
            const w = waiters.shift();
            if (w) w(m);
            else messages.push(m);
          },
        });
        ch.on('data', (d: Buffer) => dec.push(d));
        const closed = new Promise<void>((r) => ssh.on('close', () => r()));
        resolve({
          ch,
          ssh,
          messages,
          serverHello,
          closed,
          next: () => (messages.length ? Promise.resolve(messages.shift()!) : new Promise((r) => waiters.push(r))),
        });
      });
    });
    ssh.connect({ host: '127.0.0.1', port, username: 'admin', password: 'pw' });
  });
}

function sessionEnd(dev: NetconfDevice): Promise<Extract<DeviceEvent, { type: 'session-end' }>> {
  return new Promise((resolve) => {
    const on = (e: DeviceEvent) => {
      if (e.type === 'session-end') {
        dev.off('event', on);
        resolve(e);
      }
    };
    dev.on('event', on);
  });
}

describe('NETCONF server core against misbehaving clients', () => {
  const server = new NetconfServer({
    hostKeys: [generateHostKey().private],
    authenticate: staticUsers([{ username: 'admin', password: 'pw' }]),
    helloTimeoutMs: 500,
    maxMessageSize: 1024 * 1024,
  });
  let dev: NetconfDevice;
  let l: NetconfListener;
  beforeAll(async () => {
    dev = new NetconfDevice({ id: 'd1', running: '<a xmlns="urn:a"/>' });
    l = await server.listen(dev);
  });
  afterAll(async () => {
    await server.close();
    dev.dispose();
  });
  afterEach(() => {
    expect(dev.sessions.size).toBe(0);
    expect(dev.locks).toEqual({});
  });

  async function helloed(): Promise<Raw> {
    const r = await rawSession(l.port);
    await r.serverHello;
    r.ch.write(encode(HELLO11, 'eom'));
    return r;
  }

  it('garbage after the hello ends the session with a framing error', async () => {
    const r = await helloed();
    const ended = sessionEnd(dev);
    r.ch.write(encode('<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><lock><target><candidate/></target></lock></rpc>', 'chunked'));
    expect(await r.next()).toContain('<ok/>');
    expect(dev.locks.candidate).toBeDefined();
    r.ch.write('GET / HTTP/1.1\r\n\r\n');
    expect((await ended).reason).toMatch(/^framing error: chunked framing: expected LF before chunk header, got 'G'/);
    await r.closed;
  });

  it('a chunk header over the limit ends the session before the data arrives', async () => {
    const r = await helloed();
    const ended = sessionEnd(dev);
    r.ch.write('\n#99999999\n');
    expect((await ended).reason).toMatch(/^framing error: chunked framing: chunk size 9999999\d* exceeds limit 1048576/);
    await r.closed;
  });

  it('no hello within helloTimeoutMs ends the session', async () => {
    const r = await rawSession(l.port);
    await r.serverHello;
    const ended = sessionEnd(dev);
    expect((await ended).reason).toBe('no hello from client');
    await r.closed;
  });

  it('a client hello carrying a session-id is refused', async () => {
    const r = await rawSession(l.port);
    await r.serverHello;
    const ended = sessionEnd(dev);
    r.ch.write(encode(HELLO11.replace('</hello>', '<session-id>4</session-id></hello>'), 'eom'));
    expect((await ended).reason).toBe('bad hello');
    await r.closed;
  });

  it('unparsable XML and a missing message-id get rpc-errors; the session goes on', async () => {
    const r = await helloed();
    r.ch.write(encode('<rpc message-id="1"><get-config>', 'chunked'));
    const bad = await r.next();
    expect(bad).toContain('<error-tag>malformed-message</error-tag>');
    expect(bad).not.toContain('message-id'); // nothing to echo
    r.ch.write(encode('<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><get-config><source><running/></source></get-config></rpc>', 'chunked'));
    const missing = await r.next();
    expect(missing).toContain('<error-tag>missing-attribute</error-tag>');
    expect(missing).toContain('<bad-attribute>message-id</bad-attribute>');
    r.ch.write(encode('<rpc message-id="x7" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:ex="urn:ex" ex:tag="t"><get-config><source><running/></source></get-config></rpc>', 'chunked'));
    const ok = await r.next();
    // RFC 6241 4.2: the rpc's attributes come back on rpc-reply
    expect(ok).toBe('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="x7" xmlns:ex="urn:ex" ex:tag="t"><data><a xmlns="urn:a"/></data></rpc-reply>');
    const ended = sessionEnd(dev);
    r.ch.write(encode('<rpc message-id="9" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><close-session/></rpc>', 'chunked'));
    expect(await r.next()).toContain('<ok/>');
    expect((await ended).reason).toBe('close-session');
    await r.closed;
  });

  it('a client vanishing mid-message releases its lock', async () => {
    const r = await helloed();
    r.ch.write(encode('<rpc message-id="1" xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><lock><target><running/></target></lock></rpc>', 'chunked'));
    expect(await r.next()).toContain('<ok/>');
    expect(dev.locks.running).toBeDefined();
    const ended = sessionEnd(dev);
    r.ch.write('\n#500\n<rpc message-id="2"');
    r.ssh.destroy();
    expect((await ended).reason).toBe('channel closed');
  });
});
