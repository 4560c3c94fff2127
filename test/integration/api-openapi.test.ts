// The served OpenAPI document is one clients can be generated from: a standard validator
// (@apidevtools/swagger-parser) accepts it, every operation has a unique operationId, a typed
// 2xx reply and (writes) a body schema, component schemas carry their names, and
// openapi-typescript turns it into a typed client that tsc accepts (and rejects misuse of).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { OpenAPIV3 } from 'openapi-types';
import { startApi, ROOT, type ApiHarness } from '../helpers/api-harness';
import { operationIdFor } from '../../src/api/openapi';

let h: ApiHarness;
let doc: OpenAPIV3.Document;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const ops = () => Object.entries(doc.paths).flatMap(([p, item]) =>
  METHODS.filter((m) => item?.[m]).map((m) => ({ method: m, path: p, op: item![m] as OpenAPIV3.OperationObject })));

beforeAll(async () => {
  h = await startApi();
  doc = (await h.call('GET', '/api/v1/openapi.json', { role: 'none' })).json;
});
afterAll(async () => { await h?.stop(); });

it('validates with swagger-parser (OpenAPI 3.0.3)', async () => {
  expect(doc.openapi).toBe('3.0.3');
  await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  // Keywords OpenAPI 3.0 does not have (swagger-parser checks schemas only loosely).
  const text = JSON.stringify(doc);
  for (const k of ['"prefixItems"', '"const"', '"$id"', '"type":"null"']) expect(text).not.toContain(k);
  expect(text).not.toMatch(/"items":\[/);
});

it('every operation: unique operationId, a typed 2xx reply, a body schema on writes', () => {
  const all = ops();
  expect(all.length).toBeGreaterThanOrEqual(50);
  const ids = all.map((o) => o.op.operationId);
  expect(ids.filter((x) => !x)).toEqual([]);
  expect(new Set(ids).size).toBe(ids.length);
  const untyped = all.filter(({ op }) => !Object.entries(op.responses).some(([code, r]) =>
    code === '204' || (/^2\d\d$/.test(code) && Object.values((r as OpenAPIV3.ResponseObject).content ?? {}).some((c) => c.schema))));
  expect(untyped.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  const bodiless = all.filter((o) => ['post', 'put', 'patch'].includes(o.method) && !(o.op.requestBody as OpenAPIV3.RequestBodyObject | undefined)?.content?.['application/json']?.schema);
  expect(bodiless.map((o) => `${o.method} ${o.path}`)).toEqual([]);
  // Names a client author would recognise, stable across releases.
  expect(ids).toEqual(expect.arrayContaining(['listFabricDevices', 'createFabricVirtualNetwork', 'autoconfigureFabric', 'getJob', 'cancelJob', 'deleteFabricDeviceHostKey']));
  const names = Object.keys(doc.components?.schemas ?? {});
  expect(names.filter((n) => /^def-\d+$/.test(n))).toEqual([]);
  expect(names).toEqual(expect.arrayContaining(['FabricFile', 'VirtualNetwork', 'Error', 'Fabric', 'Device', 'Job']));
});

it('GET /api/v1/schemas/fabric.json: the shipped schemas/fabric.schema.json, for any viewer', async () => {
  const r = await h.call('GET', '/api/v1/schemas/fabric.json', { role: 'viewer' });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.text).toBe(readFileSync(path.join(ROOT, 'schemas', 'fabric.schema.json'), 'utf8'));
  expect(r.json.properties.fabric.required).toEqual(['name', 'credentials', 'namespaces']);
  expect((await h.call('GET', '/api/v1/schemas/fabric.json', { role: 'none' })).status).toBe(401);
  expect(h.app.routeAccess.find((x) => x.url === '/api/v1/schemas/fabric.json' && x.method === 'GET')).toEqual({ method: 'GET', url: '/api/v1/schemas/fabric.json', public: false, role: 'viewer' });
  expect(doc.paths['/api/v1/schemas/fabric.json']?.get?.operationId).toBe('getFabricFileSchema');
});

it('operationIdFor: derived from method and path', () => {
  expect(operationIdFor('GET', '/api/v1/fabrics/:f/devices')).toBe('listFabricDevices');
  expect(operationIdFor('POST', '/api/v1/fabrics/:f/logical-routers')).toBe('createFabricLogicalRouter');
  expect(operationIdFor('PUT', '/api/v1/fabrics/:f/devices/:d/roles')).toBe('setFabricDeviceRoles');
  expect(operationIdFor('DELETE', '/api/v1/fabrics/:f/links/:link')).toBe('deleteFabricLink');
  expect(operationIdFor('POST', '/api/v1/fabrics/:f/devices/:d/config/rollback')).toBe('rollbackFabricDeviceConfig');
  expect(operationIdFor('GET', '/api/v1/backup')).toBe('getBackup');
  expect(operationIdFor('POST', '/api/v1/restore')).toBe('restore');
});

it('openapi-typescript generates a client that type-checks, and catches a wrong use', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-client-'));
  try {
    // Its command line (the package is ESM-only; jest here runs CommonJS).
    writeFileSync(path.join(dir, 'openapi.json'), JSON.stringify(doc));
    const gen = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), path.join(dir, 'openapi.json'), '-o', path.join(dir, 'api.d.ts')], { encoding: 'utf8' });
    expect(gen.status).toBe(0);
    const use = (device: string) => `import type { operations, components } from './api';
type Created = operations['createFabricVirtualNetwork']['requestBody'];
const body: NonNullable<Created>['content']['application/json'] = { name: 'web', vni: 10100 };
const err: components['schemas']['Error'] = { error: 'conflict', message: 'x' };
type Dev = operations['getFabricDevice']['responses'][200]['content']['application/json'];
const d: Dev = ${device};
export { body, err, d };
`;
    writeFileSync(path.join(dir, 'use.ts'), use("{ name: 'leaf1', serial: null, model: null, profile: null, managementIp: null, osVersion: null, physicalRole: 'leaf', roles: [], managedState: 'active', onboardingState: null, ports: [], needsConfig: false }"));
    writeFileSync(path.join(dir, 'bad.ts'), use('{ name: 1 }'));
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = (file: string) => spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'ES2022', '--moduleResolution', 'node', path.join(dir, file)], { encoding: 'utf8' });
    const good = run('use.ts');
    expect(good.stdout + good.stderr).toBe('');
    expect(good.status).toBe(0);
    const bad = run('bad.ts');
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts.*error TS2322/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}, 120_000);
