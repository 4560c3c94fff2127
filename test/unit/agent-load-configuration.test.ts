// The twin agent's Junos-style load-configuration (src/lab/agent/netconf.ts) on the NETCONF
// server core (127.0.0.1, port 0): format text replaces frr.conf and keeps the interfaces text,
// format xml merges or replaces the <frr> envelope, foreign elements and a held lock are refused.
import { NetconfClient } from '../../src/netconf/client';
import { NetconfRpcError } from '../../src/netconf/errors';
import { NetconfDevice, NetconfServer, generateHostKey, staticUsers, type NetconfListener } from '../../src/lab/netconf-server';
import { loadConfigurationRpc, unwrapFrr, wrapFrr } from '../../src/lab/agent/netconf';

describe('agent load-configuration on the server core', () => {
  let server: NetconfServer;
  let listener: NetconfListener;
  let dev: NetconfDevice;
  const open: NetconfClient[] = [];
  const connect = async () => {
    const c = await NetconfClient.connect({ host: '127.0.0.1', port: listener.port, deviceId: 'leaf1', username: 'admin', password: 'pw' });
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'pw' }]) });
    dev = new NetconfDevice({ id: 'leaf1', running: wrapFrr({ frrConf: 'hostname old\n', interfaces: 'auto swp1\n' }) });
    dev.registerRpc('load-configuration', loadConfigurationRpc);
    listener = await server.listen(dev, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const c of open) c.destroy();
    await listener?.close();
    await server?.close();
    dev?.dispose();
  });

  test('text replaces frr.conf and keeps the interfaces; xml merge and replace; commit makes it running', async () => {
    const c = await connect();
    await c.loadConfiguration({ format: 'text', config: 'hostname leaf1\nrouter bgp 64601\n' });
    expect(unwrapFrr(dev.candidate)).toEqual({ frrConf: 'hostname leaf1\nrouter bgp 64601\n', interfaces: 'auto swp1\n' });
    expect(dev.candidateDirty).toBe(true);
    const frr = wrapFrr({ frrConf: 'hostname leaf1b\n', interfaces: 'auto swp2\n' });
    await c.loadConfiguration({ action: 'replace', format: 'xml', config: `<configuration>${frr}</configuration>` });
    expect(unwrapFrr(dev.candidate)).toEqual({ frrConf: 'hostname leaf1b\n', interfaces: 'auto swp2\n' });
    await c.commit();
    expect(unwrapFrr(dev.running)).toEqual({ frrConf: 'hostname leaf1b\n', interfaces: 'auto swp2\n' });
    await c.close();
  });

  test('refused: a foreign element (candidate untouched), an unknown action or format, the candidate locked by another session', async () => {
    const c = await connect();
    const before = dev.candidate;
    const err = (p: Promise<unknown>) => p.then(() => { throw new Error('expected an rpc-error'); }, (e: NetconfRpcError) => e);
    expect((await err(c.loadConfiguration({ format: 'xml', config: '<configuration><system/></configuration>' }))).message)
      .toMatch(/unknown configuration element <system>/);
    expect(dev.candidate).toBe(before);
    expect((await err(c.rpc('<load-configuration action="set" format="xml"><configuration/></load-configuration>'))).message)
      .toMatch(/load-configuration action 'set' is not supported/);
    expect((await err(c.rpc('<load-configuration format="json"><configuration/></load-configuration>'))).message)
      .toMatch(/load-configuration format 'json' is not supported \(xml, text\)/);
    const d = await connect();
    await d.lock('candidate');
    expect((await err(c.loadConfiguration({ format: 'text', config: 'hostname x\n' }))).message).toMatch(/candidate is locked by session \d+/);
    await d.unlock('candidate');
    expect(dev.candidate).toBe(before);
    await c.close();
    await d.close();
  });
});
