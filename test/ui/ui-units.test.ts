// The UI's pure parts, without a browser: the event-stream parser, job patches (server side
// computes, browser side applies: the round trip must give the job back), the topology model
// (states, links, grouping per pod for a 1,056-device Clos) and its layouts, diffs, roles.
import { SseParser } from '../../ui/src/sse';
import { applyPatch } from '../../ui/src/job-patch';
import { buildModel, deviceState, podLayout, rowLayout, type Layout, type TopologyModel } from '../../ui/src/topology/model';
import { diffStats, parseDiff, tokenize } from '../../ui/src/diff-parse';
import { allowedRoles } from '../../ui/src/roles';
import { bodyProperty, findOperation } from '../../ui/src/openapi-ops';
import { parseDeviceList, serialError, upgradeBatches, versionDrift } from '../../ui/src/day2';
import type { Device, Job, Link } from '../../ui/src/types';
import { jobPatch } from '../../src/api/job-patch';
import type { JobView } from '../../src/jobs/records';
import { generateClos } from '../../src/intent/generate';

describe('SseParser', () => {
  test('events split anywhere, CR LF and LF, comments, multi-line data, default event name', () => {
    const text = ': ping\r\nevent: job\r\ndata: {"a":1}\r\n\r\ndata: one\ndata: two\n\n: ping\n\nevent: end\ndata: {}\n\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const p = new SseParser();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
      expect(got).toEqual([{ event: 'job', data: '{"a":1}' }, { event: 'message', data: 'one\ntwo' }, { event: 'end', data: '{}' }]);
    }
  });

  test('an event is not complete until its blank line', () => {
    const p = new SseParser();
    expect(p.push('event: patch\ndata: {"x":1}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'patch', data: '{"x":1}' }]);
  });
});

const view = (over: Partial<JobView> = {}): JobView => ({
  id: 'j1', type: 'autoconfigure', fabric: 'f', state: 'running', progress: 10, createdAt: '2026-01-01T00:00:00.000Z',
  steps: [{ name: 'plan', state: 'succeeded' }], log: [{ at: '2026-01-01T00:00:00.001Z', message: 'planned' }], devices: {}, ...over,
});

describe('job patches', () => {
  test('the browser rebuilds the job from the first snapshot and the patches', () => {
    const a = view();
    const b = view({
      progress: 40,
      steps: [{ name: 'plan', state: 'succeeded' }, { name: 'render', state: 'succeeded', device: 'leaf1' }, { name: 'push', state: 'running', device: 'leaf1' }, { name: 'finalize', state: 'queued' }],
      devices: { leaf1: { state: 'running', progress: 0.4 } },
      log: [...a.log, { at: '2026-01-01T00:00:01.000Z', message: 'rendered', device: 'leaf1' }],
    });
    const c = view({
      state: 'succeeded', progress: 100, finishedAt: '2026-01-01T00:00:02.000Z', result: { dryRun: false },
      steps: b.steps.map((s) => ({ ...s, state: 'succeeded' as const })),
      devices: { leaf1: { state: 'succeeded', progress: 1, result: { committed: true } } },
      log: [...b.log, { at: '2026-01-01T00:00:02.000Z', message: 'succeeded: 1 device' }],
    });
    const p1 = jobPatch(a, b)!;
    expect(p1.steps).toHaveLength(4); // planning declared the device steps: the whole list
    const p2 = jobPatch(b, c)!;
    expect(p2.steps).toBeUndefined();
    expect(p2.stepStates).toEqual([[2, 'succeeded'], [3, 'succeeded']]);
    expect(p2.log).toEqual([c.log[2]]);
    const rebuilt = applyPatch(applyPatch(a as Job, p1), p2);
    expect(rebuilt).toEqual(c);
    expect(jobPatch(c, c)).toBeUndefined();
  });

  test('lines no longer among those read are reported as a gap, not silently dropped', () => {
    const a = view({ log: [{ at: 't0', message: 'old' }] });
    const b = view({ log: [{ at: 't5', message: 'new' }] });
    const p = jobPatch(a, b)!;
    expect(p.logGap).toBe(true);
    const log = applyPatch(a as Job, p).log;
    expect(log.map((l) => l.message)).toEqual(['old', expect.stringContaining('skipped'), 'new']);
    expect(log[1].gap).toBe(true);
  });
});

const dev = (name: string, physicalRole: Device['physicalRole'], o: Partial<Device> = {}): Device => ({
  name, physicalRole, serial: null, model: null, profile: 'frr-switch', managementIp: null, osVersion: null, roles: [],
  managedState: 'dhcp', onboardingState: null, ...o,
});

function overlaps(m: TopologyModel, l: Layout): string[] {
  const out: string[] = [];
  const boxes = m.nodes.map((n) => ({ n, p: l.pos.get(n.id)! }));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.p.x < b.p.x + b.n.width && b.p.x < a.p.x + a.n.width && a.p.y < b.p.y + b.n.height && b.p.y < a.p.y + a.n.height) out.push(`${a.n.id}/${b.n.id}`);
    }
  }
  return out;
}

describe('topology model', () => {
  test('states from the stored device; links addressed, planned or an anomaly; rows by role', () => {
    expect(deviceState(dev('a', 'leaf'))).toBe('planned');
    expect(deviceState(dev('a', 'leaf', { onboardingState: 'discovered' }))).toBe('onboarding');
    expect(deviceState(dev('a', 'leaf', { onboardingState: 'underlay_configured' }))).toBe('managed');
    expect(deviceState(dev('a', 'leaf', { managedState: 'maintenance' }))).toBe('maintenance');
    expect(deviceState(dev('a', 'leaf', { managedState: 'upgrading' }))).toBe('upgrading');
    expect(deviceState(dev('a', 'leaf', { managedState: 'rma' }))).toBe('rma');
    expect(deviceState(dev('a', 'leaf', { managedState: 'error' }))).toBe('failed');
    expect(deviceState(dev('a', 'leaf', { managedState: 'active' }), new Set(['a']))).toBe('drift');
    const devices = [dev('spine1', 'spine'), dev('leaf1', 'leaf'), dev('leaf2', 'leaf'), dev('gw1', 'gateway'), dev('new1', null)];
    const links: Link[] = [
      { a: { device: 'spine1', port: 'swp1' }, b: { device: 'leaf1', port: 'swp49' }, subnet: '10.0.0.0/31' },
      { a: { device: 'spine1', port: 'swp2' }, b: { device: 'leaf2', port: 'swp49' }, anomaly: 'unexpected neighbor' },
      { a: { device: 'gw1', port: 'swp1' }, b: { device: 'spine1', port: 'swp9' } },
    ];
    const m = buildModel(devices, links, [{ name: 'bms1', nics: [{ device: 'leaf1', port: 'swp10' }] }]);
    expect(m.grouped).toBe(false);
    expect(m.nodes.map((n) => [n.id, n.row])).toEqual([['gw1', 0], ['leaf1', 3], ['leaf2', 3], ['new1', 5], ['spine1', 2], ['server:bms1', 4]]);
    expect(Object.fromEntries(m.edges.map((e) => [e.id, e.state]))).toEqual({
      'leaf1--spine1': 'addressed', 'leaf2--spine1': 'anomaly', 'gw1--spine1': 'planned', 'server:bms1--leaf1': 'addressed',
    });
    const l = rowLayout(m);
    expect(overlaps(m, l)).toEqual([]);
    const y = (id: string) => l.pos.get(id)!.y;
    expect(y('gw1')).toBeLessThan(y('spine1'));
    expect(y('spine1')).toBeLessThan(y('leaf1'));
    expect(y('leaf1')).toBeLessThan(y('server:bms1'));
  });

  test('1,056 devices: leaves grouped per pod, every name kept, spines drawn with their pod, no overlaps', () => {
    const file = generateClos({ spines: 32, leaves: 1024, rrs: 4, pods: 8 });
    const devices = file.devices.map((d) => dev(d.name, d.physicalRole));
    const m = buildModel(devices, file.links.map((k) => ({ a: k.a, b: k.b })));
    expect(m.grouped).toBe(true);
    const groups = m.nodes.filter((n) => n.kind === 'group');
    expect(groups).toHaveLength(8);
    expect(groups.map((g) => g.members!.length)).toEqual(new Array(8).fill(128));
    const shown = [...groups.flatMap((g) => g.members!.map((x) => x.name)), ...m.nodes.filter((n) => n.kind === 'device').map((n) => n.label)];
    expect(shown.sort()).toEqual(file.devices.map((d) => d.name).sort());
    expect(groups[0].sublabel).toBe('128 leaves · spine1–spine4');
    // one edge per spine and pod, carrying its 128 links
    expect(m.edges).toHaveLength(32);
    expect(m.edges.every((e) => e.count === 128)).toBe(true);
    expect(m.nodes.filter((n) => n.kind === 'device').every((n) => n.pod === Math.ceil(Number(n.label.slice(5)) / 4))).toBe(true);
    const l = podLayout(m, 1.8);
    expect(overlaps(m, l)).toEqual([]);
    // a grid of 4 x 2 pods, each pod's spines above its leaves
    expect(new Set(groups.map((g) => l.pos.get(g.id)!.y)).size).toBe(2);
    expect(l.pos.get('spine1')!.y).toBeLessThan(l.pos.get('group:1')!.y);
    expect(l.width / l.height).toBeGreaterThan(1.2);
    expect(l.width / l.height).toBeLessThan(3);
  });
});

describe('diffs and roles', () => {
  const diff = ['===================================================================', '--- running/leaf1.frr.conf', '+++ intended/leaf1.frr.conf',
    '@@ -3,3 +3,4 @@', ' hostname leaf1', '-router bgp 64601', '+router bgp 64602', '+ neighbor 10.0.0.1 remote-as external', ' !', '\\ No newline at end of file'].join('\n');

  test('lines typed and numbered from the hunk header', () => {
    const lines = parseDiff(diff);
    expect(lines.map((l) => l.kind)).toEqual(['file', 'file', 'hunk', 'ctx', 'del', 'add', 'add', 'ctx', 'meta']);
    expect(lines.filter((l) => l.kind !== 'file' && l.kind !== 'hunk' && l.kind !== 'meta').map((l) => [l.old, l.new])).toEqual([[3, 3], [4, undefined], [undefined, 4], [undefined, 5], [5, 6]]);
    expect(diffStats(diff)).toEqual({ added: 2, removed: 1 });
    expect(diffStats(undefined)).toEqual({ added: 0, removed: 0 });
  });

  test('config tokens: keyword, addresses, numbers, comments, XML tags', () => {
    expect(tokenize(' neighbor 10.0.0.1 remote-as 65001')).toEqual([
      { kind: 'text', text: ' ' }, { kind: 'kw', text: 'neighbor' }, { kind: 'text', text: ' ' }, { kind: 'num', text: '10.0.0.1' },
      { kind: 'text', text: ' remote-as ' }, { kind: 'num', text: '65001' },
    ]);
    expect(tokenize('! comment')).toEqual([{ kind: 'comment', text: '! comment' }]);
    expect(tokenize('<description>uplink</description>').map((t) => t.kind)).toEqual(['tag', 'tag', 'text', 'tag', 'tag']);
    expect(tokenize(' ip address 10.254.0.2/31').find((t) => t.kind === 'num')?.text).toBe('10.254.0.2/31');
  });

  test('roles offered are the profile\'s, per physical role', () => {
    const qfx = { name: 'qfx', roles: ['CRB-Access@leaf', 'ERB-UCAST-Gateway@leaf', 'null@leaf', 'null@spine', 'Route-Reflector@spine'] };
    expect(allowedRoles(qfx, 'leaf')).toEqual({ physicals: ['leaf', 'spine'], roles: ['CRB-Access', 'ERB-UCAST-Gateway'], lean: true });
    expect(allowedRoles(qfx, 'spine').roles).toEqual(['Route-Reflector']);
    expect(allowedRoles({ ...qfx, roles: ['*@*'] }, 'gateway').roles).toHaveLength(9);
  });
});

describe('day 2', () => {
  const rmaOp = { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/RmaBody' } } } } };
  const doc = {
    paths: {
      '/api/v1/fabrics/{f}/devices/{d}/maintenance': { post: { summary: 'maintenance' } },
      '/api/v1/fabrics/{fabric}/devices/{device}/rma': { post: rmaOp, get: undefined },
    },
    components: { schemas: { RmaBody: { type: 'object', properties: { serial: { type: 'string', pattern: '^[A-Z0-9]+$', maxLength: 20 } } } } },
  };

  test('an operation is found by method and path shape (API prefix and parameter names aside), only when the document has it', () => {
    expect(findOperation(doc, 'post', '/fabrics/{f}/devices/{d}/rma')).toBe(rmaOp);
    expect(findOperation(doc, 'POST', '/fabrics/{x}/devices/{y}/maintenance')).toEqual({ summary: 'maintenance' });
    expect(findOperation(doc, 'get', '/fabrics/{f}/devices/{d}/rma')).toBeUndefined();
    expect(findOperation(doc, 'post', '/fabrics/{f}/devices/{d}/rmax')).toBeUndefined();
    expect(findOperation({ paths: { '/api/v1/fabrics/{f}/devices/{d}/maintenance': {} } }, 'post', '/fabrics/{f}/devices/{d}/rma')).toBeUndefined();
    expect(findOperation(undefined, 'post', '/x')).toBeUndefined();
    expect(findOperation({ paths: 'nonsense' }, 'post', '/x')).toBeUndefined();
  });

  test('the body property\'s schema through a $ref, inline, or none', () => {
    expect(bodyProperty(doc, rmaOp, 'serial')).toEqual({ type: 'string', pattern: '^[A-Z0-9]+$', maxLength: 20 });
    const inline = { requestBody: { content: { 'application/json': { schema: { properties: { serial: { maxLength: 5 } } } } } } };
    expect(bodyProperty(doc, inline, 'serial')).toEqual({ maxLength: 5 });
    expect(bodyProperty(doc, inline, 'constructor')).toBeUndefined();
    expect(bodyProperty(doc, { requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/toString' } } } } }, 'serial')).toBeUndefined();
    expect(bodyProperty(doc, undefined, 'serial')).toBeUndefined();
  });

  test('a serial is checked as the service would before it is sent', () => {
    const rule = bodyProperty(doc, rmaOp, 'serial');
    expect(serialError('ABC123', rule)).toBeUndefined();
    expect(serialError('', rule)).toMatch(/enter/);
    expect(serialError(' ABC', rule)).toMatch(/spaces/);
    expect(serialError('AB C', rule)).toMatch(/spaces or control/);
    expect(serialError('AB\u0007C', rule)).toMatch(/control/);
    expect(serialError('abc', rule)).toMatch(/does not match/);
    expect(serialError('A'.repeat(21), rule)).toMatch(/1 to 20/);
    expect(serialError('A'.repeat(64))).toBeUndefined();
    expect(serialError('A'.repeat(65))).toMatch(/1 to 64/);
    expect(serialError('x', { pattern: '(' })).toBeUndefined(); // a pattern this browser cannot compile: the server decides
  });

  test('version drift: the stored version against the profile\'s target, under the service\'s comparison', () => {
    const os = { 'frr-switch': '8.4.4' };
    expect(versionDrift({ profile: 'frr-switch', osVersion: 'FRRouting 8.4.4 (leaf1)' }, os)).toEqual({ target: '8.4.4', drift: false });
    expect(versionDrift({ profile: 'frr-switch', osVersion: '8.4' }, os)).toEqual({ target: '8.4.4', drift: true });
    expect(versionDrift({ profile: 'frr-switch', osVersion: null }, os)).toEqual({ target: '8.4.4', drift: true });
    expect(versionDrift({ profile: 'qfx', osVersion: '1' }, os)).toEqual({ drift: false });
    expect(versionDrift({ profile: 'toString', osVersion: '1' }, os)).toEqual({ drift: false });
    expect(versionDrift({ profile: 'frr-switch', osVersion: '1' }, undefined)).toEqual({ drift: false });
  });

  test('an upgrade job\'s batches: its result once ended, else the plan lines it logged', () => {
    const log = [
      { at: 't', message: 'batch 1 of 2: leaf1, leaf2 (leaf tier; leaf3 waits: maxParallel 2)' },
      { at: 't', message: 'batch 2 of 2: spine1 (spine tier; not hitless: the only spine)' },
      { at: 't', message: 'batch 9 of 9: forged (a device line is not the plan)', device: 'leaf1' },
      { at: 't', message: 'skipped leaf3: already on 9' },
    ];
    expect(upgradeBatches({ log })).toEqual([
      { devices: ['leaf1', 'leaf2'], reason: 'leaf tier; leaf3 waits: maxParallel 2' },
      { devices: ['spine1'], reason: 'spine tier; not hitless: the only spine' },
    ]);
    const result = { batches: [{ devices: ['x'], reason: 'r' }], skipped: [] };
    expect(upgradeBatches({ log, result })).toEqual(result.batches);
    expect(upgradeBatches({ log: [] })).toEqual([]);
  });

  test('device lists typed by the user are checked against the fabric', () => {
    const known = new Set(['leaf1', 'leaf2']);
    expect(parseDeviceList(' leaf1,leaf2  leaf1 ', known)).toEqual({ devices: ['leaf1', 'leaf2'] });
    expect(parseDeviceList('', known)).toEqual({ devices: [] });
    expect(parseDeviceList('leaf1, leaf9', known).error).toBe('not a device of this fabric: leaf9');
  });
});
