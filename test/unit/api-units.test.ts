// Pure parts of the service: environment parsing, error mapping (JSON paths, no internals),
// log redaction of secrets.
import { Writable } from 'node:stream';
import { loadConfig, ConfigError } from '../../src/config';
import { createLogger } from '../../src/log';
import { jsonPath, toErrorReply, ApiError } from '../../src/api/errors';
import { FabricError } from '../../src/domain/errors';
import { StoreError } from '../../src/store/errors';
import { JobConflictError } from '../../src/jobs/engine';
import { isTransient, TransientError } from '../../src/jobs/errors';
import { roleAllows } from '../../src/api/auth';

describe('service environment', () => {
  it('has the design defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', jobConcurrency: 50, discoveryAllow: [], jobLockMs: 30000, fabricLockTtlMs: 60000 });
    expect(c.dataDir).toBe(require('node:path').resolve('./data'));
    expect(c.redisUrl).toBeUndefined();
  });
  it('reads every variable', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({ PORT: '9090', HOST: '127.0.0.1', DATA_DIR: '/tmp/x', REDIS_URL: 'redis://127.0.0.1:6390', FABRIC_SECRET_KEY: key,
      DHCP_INTERFACE: 'mgmt0', ZTP_BASE_URL: 'http://10.0.0.1:9090', DISCOVERY_ALLOW: '10.0.0.0/24, 127.0.0.0/8', JOB_CONCURRENCY: '8' });
    expect(c).toMatchObject({ port: 9090, host: '127.0.0.1', dataDir: '/tmp/x', redisUrl: 'redis://127.0.0.1:6390', secretKey: key,
      dhcpInterface: 'mgmt0', ztpBaseUrl: 'http://10.0.0.1:9090', discoveryAllow: ['10.0.0.0/24', '127.0.0.0/8'], jobConcurrency: 8 });
  });
  it('refuses bad values with one line naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(new ConfigError('PORT: expected an integer, got "eighty"'));
    expect(() => loadConfig({ JOB_CONCURRENCY: '0' })).toThrow('JOB_CONCURRENCY: 0 is outside 1..10000');
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow('REDIS_URL: expected redis://[:password@]host:port, rediss://..., redis+sentinel://host:port,.../<master> or redis+cluster://host:port,host:port/, got "localhost:6379"');
    expect(() => loadConfig({ FABRIC_SECRET_KEY: 'c2hvcnQ=' })).toThrow('FABRIC_SECRET_KEY: expected 32 bytes, base64-encoded');
  });
});

describe('API errors', () => {
  it('turns ajv instance paths into the JSON paths FabricError uses', () => {
    expect(jsonPath('/devices/3/roles/0')).toBe('devices[3].roles[0]');
    expect(jsonPath('/fabric/namespaces', 'asn')).toBe('fabric.namespaces.asn');
    expect(jsonPath('', 'mode')).toBe('mode');
    expect(jsonPath('/a~1b')).toBe('a/b');
  });
  it('maps domain, store and job errors to status, code, path, jobId', () => {
    expect(toErrorReply(new FabricError('links[2].a.port', 'links[2].a.port: no port "x"'))).toEqual({ status: 400, internal: false, body: { error: 'bad_request', message: 'links[2].a.port: no port "x"', path: 'links[2].a.port' } });
    expect(toErrorReply(new StoreError('not_found', 'fabric x not found')).status).toBe(404);
    expect(toErrorReply(new StoreError('locked', 'busy', undefined, 'j1')).body).toEqual({ error: 'conflict', message: 'busy', jobId: 'j1' });
    expect(toErrorReply(new JobConflictError('dc1', 'j2'))).toEqual({ status: 409, internal: false, body: { error: 'conflict', message: 'fabric "dc1" already has a running job j2', jobId: 'j2' } });
    expect(toErrorReply(new ApiError(404, 'not_found', 'nope')).body).toEqual({ error: 'not_found', message: 'nope' });
    expect(toErrorReply({ validation: [{ instancePath: '/devices/1', keyword: 'required', params: { missingProperty: 'name' }, message: "must have required property 'name'" }], validationContext: 'body' }).body)
      .toEqual({ error: 'bad_request', message: 'devices[1].name: is required', path: 'devices[1].name' });
  });
  it('never shows internals of an unexpected error', () => {
    const r = toErrorReply(new TypeError("Cannot read properties of undefined (reading 'x') at /work/main/src/api/app.ts:10"));
    expect(r).toEqual({ status: 500, internal: true, body: { error: 'internal', message: 'internal error (see the service log)' } });
  });
});

describe('retry classification and roles', () => {
  it('retries only transient errors', () => {
    expect(isTransient(new TransientError('timeout'))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransient(new Error('port et-0/0/99 does not exist'))).toBe(false);
    expect(isTransient(new FabricError('devices[0]', 'bad'))).toBe(false);
  });
  it('orders roles viewer < operator < admin', () => {
    expect([roleAllows('viewer', 'viewer'), roleAllows('viewer', 'operator'), roleAllows('operator', 'operator'), roleAllows('operator', 'admin'), roleAllows('admin', 'operator')])
      .toEqual([true, false, true, false, true]);
  });
});

describe('log redaction', () => {
  it('redacts authorization headers, tokens, passwords, communities and keys', () => {
    let out = '';
    const dest = new Writable({ write(chunk, _enc, cb) { out += chunk.toString(); cb(); } });
    const log = createLogger({ level: 'info', destination: dest as unknown as import('pino').DestinationStream });
    log.info({ req: { headers: { authorization: 'Bearer fzt_abc_secret1' } } }, 'request');
    log.info({ fabric: { credentials: { username: 'admin', password: 's3cret' }, snmp: { community: 'ro-comm' } } }, 'fabric');
    log.info({ snmp: { v3: { user: 'u', authKey: 'ak-123', privKey: 'pk-456' } }, token: 'fzt_x_y' }, 'snmp');
    for (const secret of ['fzt_abc_secret1', 's3cret', 'ro-comm', 'ak-123', 'pk-456', 'fzt_x_y']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
    expect(out.trim().split('\n')).toHaveLength(3);
  });
});
