// The generated command table: current with the routes (a stale table fails here), names from
// method + path, every API operation reachable as a command.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCommandTable, commandTableText, nameOperation, type OpenApiDoc } from '../../src/cli/table-build';
import { openApiDocument } from '../../src/api/openapi-doc';
import { buildProgram } from '../../src/cli/main';

jest.setTimeout(60_000);

const TABLE_FILE = join(__dirname, '..', '..', 'src', 'cli', 'command-table.json');
let doc: OpenApiDoc;
beforeAll(async () => { doc = (await openApiDocument()) as unknown as OpenApiDoc; });

test('src/cli/command-table.json is what the routes generate (else: npm run cli-table)', () => {
  expect(readFileSync(TABLE_FILE, 'utf8')).toBe(commandTableText(doc));
});

test('every JSON operation of /api/v1 is a command; the event stream is left to jobs watch', () => {
  const ops = buildCommandTable(doc);
  let expected = 0;
  for (const [p, methods] of Object.entries(doc.paths)) {
    if (!p.startsWith('/api/v1/')) continue;
    for (const m of Object.keys(methods)) if (['get', 'post', 'put', 'patch', 'delete'].includes(m) && !p.endsWith('/stream')) expected++;
  }
  expect(ops).toHaveLength(expected);
  const names = ops.map((o) => `${o.group} ${o.name}`);
  for (const n of ['devices create', 'devices patch', 'devices delete', 'devices set-roles', 'devices config-history', 'devices config-rollback',
    'events list', 'drift list', 'node-profiles list', 'virtual-networks create', 'logical-routers list', 'servers delete', 'vpgs show',
    'tokens create', 'jobs cancel', 'jobs list', 'fabrics onboard', 'fabrics autoconfigure', 'namespaces show', 'namespaces set']) {
    expect(names).toContain(n);
  }
  expect(names).not.toContain('jobs stream');
});

test('names come from method and path, not from operationIds', () => {
  expect(nameOperation('get', '/fabrics', true, false)).toEqual({ group: 'fabrics', name: 'list' });
  expect(nameOperation('post', '/fabrics/{f}/devices', true, false)).toEqual({ group: 'devices', name: 'create' });
  expect(nameOperation('get', '/fabrics/{f}/devices/{d}', true, false)).toEqual({ group: 'devices', name: 'show' });
  expect(nameOperation('put', '/fabrics/{f}/devices/{d}/roles', false, false)).toEqual({ group: 'devices', name: 'set-roles' });
  expect(nameOperation('post', '/fabrics/{f}/devices/{d}/config/rollback', false, false)).toEqual({ group: 'devices', name: 'config-rollback' });
  expect(nameOperation('post', '/jobs/{id}/cancel', false, false)).toEqual({ group: 'jobs', name: 'cancel' });
  expect(nameOperation('get', '/fabrics/{f}/namespaces', true, true)).toEqual({ group: 'namespaces', name: 'show' });
  expect(nameOperation('delete', '/fabrics/{f}/devices/{d}/host-key', false, false)).toEqual({ group: 'devices', name: 'delete-host-key' });
  // An operationId in the document changes nothing.
  const withIds = JSON.parse(JSON.stringify(doc)) as OpenApiDoc;
  for (const ops of Object.values(withIds.paths)) for (const op of Object.values(ops)) (op as { operationId?: string }).operationId = 'someName';
  expect(commandTableText(withIds)).toBe(commandTableText(doc));
});

test('two routes that would map to one command are refused, not silently merged', () => {
  const d: OpenApiDoc = { paths: {
    '/api/v1/fabrics/{f}/x': { get: { responses: {} } },
    '/api/v1/fabrics/{g}/x': { get: { responses: {} } },
  } };
  expect(() => buildCommandTable(d)).toThrow(/command "x list" would run both/);
});

test('a body schema becomes typed options; path parameters become arguments', () => {
  const add = buildCommandTable(doc).find((o) => o.group === 'devices' && o.name === 'create')!;
  expect(add.args).toEqual(['f']);
  const f = new Map(add.body!.fields.map((x) => [x.name, x]));
  expect(f.get('name')).toMatchObject({ type: 'string', required: true });
  expect(f.get('roles')).toMatchObject({ type: 'array' });
  expect(f.get('physicalRole')?.enum).toEqual(['leaf', 'spine', 'superspine', 'gateway']);
  const help = (cmd: string[]) => {
    let out = '';
    const p = buildProgram({ out: (t) => { out += t; }, err: (t) => { out += t; }, env: {} });
    const c = cmd.reduce((c, n) => c.commands.find((x) => x.name() === n)!, p);
    out = c.helpInformation();
    return out;
  };
  const h = help(['devices', 'create']);
  expect(h).toMatch(/Usage: fabric devices create\|add \[options\] <fabric>/);
  expect(h).toContain('--physical-role <value>');
  expect(h).toContain('--output <format>');
});
