/**
 * The server core against an independent client: python3-ncclient (Debian's /usr/bin/python3).
 */
import { spawn } from 'node:child_process';
import { describeIf } from '../helpers/env';
import { execFileSync } from 'node:child_process';
import { NetconfServer, NetconfDevice, generateHostKey, staticUsers } from '../../src/lab/netconf-server';
import { RpcError } from '../../src/netconf/errors';

const SCRIPT = String.raw`
import json, sys
from ncclient import manager
from ncclient.operations.rpc import RPCError
port = int(sys.argv[1])
out = {}
with manager.connect(host='127.0.0.1', port=port, username='admin', password='admin123',
                     hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=20) as m:
    out['session_id'] = m.session_id
    out['caps'] = sorted(c for c in m.server_capabilities if c.startswith('urn:ietf:params:netconf:'))
    out['running_before'] = m.get_config('running').data_xml
    m.lock('candidate')
    m.edit_config(target='candidate', config='<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><system xmlns="urn:example:system"><hostname>spine9</hostname></system></config>')
    out['filtered'] = m.get_config('candidate', filter=('subtree', '<system xmlns="urn:example:system"/>')).data_xml
    m.validate('candidate')
    m.commit(confirmed=True, timeout='600')
    m.commit()
    m.unlock('candidate')
    out['running_after'] = m.get_config('running').data_xml
    try:
        m.edit_config(target='candidate', config='<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><system xmlns="urn:example:system"><hostname>bad name</hostname></system></config>')
        m.commit()
        out['error'] = None
    except RPCError as e:
        out['error'] = {'tag': e.tag, 'type': e.type, 'severity': e.severity, 'path': e.path, 'message': e.message}
    m.discard_changes()
    try:
        from ncclient.xml_ import to_ele
        m.dispatch(to_ele('<frobnicate xmlns="urn:x"/>'))
    except RPCError as e:
        out['unknown'] = e.tag
print(json.dumps(out))
`;

function runPython(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // async spawn: the server under test runs in this process and must keep serving
    const p = spawn('/usr/bin/python3', ['-c', SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`ncclient script exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** describeIf only checks commands: name the missing python module as one when it is absent */
const hasNcclient = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import ncclient'], { stdio: 'ignore' });
    return ['/usr/bin/python3'];
  } catch {
    return ['/usr/bin/python3', 'python3-ncclient(missing)'];
  }
})();

describeIf({ commands: hasNcclient })('NETCONF server core against python3-ncclient', () => {
  it('hello, get-config, lock, edit-config, validate, commit confirmed + confirm, rpc-error, unknown RPC', async () => {
    const server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'admin', password: 'admin123' }]) });
    const applied: string[] = [];
    const dev = new NetconfDevice({
      id: 'spine9',
      running: '<system xmlns="urn:example:system"><hostname>spine1</hostname></system>',
      hooks: {
        validate: (cfg) => {
          if (/<hostname>[^<]*\s[^<]*<\/hostname>/.test(cfg)) {
            throw new RpcError('invalid-value', 'hostname must not contain spaces', { path: '/system/hostname' });
          }
        },
        apply: (cfg) => void applied.push(cfg),
      },
    });
    const l = await server.listen(dev);
    try {
      const out = JSON.parse(await runPython(l.port));
      expect(out.session_id).toBe('1');
      expect(out.caps).toEqual(
        expect.arrayContaining([
          'urn:ietf:params:netconf:base:1.0',
          'urn:ietf:params:netconf:base:1.1',
          'urn:ietf:params:netconf:capability:candidate:1.0',
          'urn:ietf:params:netconf:capability:confirmed-commit:1.1',
          'urn:ietf:params:netconf:capability:validate:1.1',
        ]),
      );
      expect(out.running_before).toContain('<hostname>spine1</hostname>');
      expect(out.filtered).toContain('<hostname>spine9</hostname>');
      expect(out.running_after).toContain('<hostname>spine9</hostname>');
      expect(applied).toEqual(['<system xmlns="urn:example:system"><hostname>spine9</hostname></system>']);
      expect(out.error).toEqual({ tag: 'invalid-value', type: 'application', severity: 'error', path: '/system/hostname', message: 'hostname must not contain spaces' });
      expect(out.unknown).toBe('operation-not-supported');
      expect(dev.running).toBe('<system xmlns="urn:example:system"><hostname>spine9</hostname></system>');
      expect(dev.locks).toEqual({});
      expect(dev.stats.commits).toBe(2); // confirmed + confirming; the confirming one applied nothing new
    } finally {
      await server.close();
    }
  }, 90_000);
});
