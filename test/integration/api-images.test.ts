// Software images over real HTTP on a real Redis: import from a file on the host (sha256 of the
// bytes recorded, the service keeps its own copy), list, the public download by name and
// checksum only, 409 on delete while an upgrade plan uses the image, 400 for bad input.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeIf } from '../helpers/env';
import { startApi, type ApiHarness } from '../helpers/api-harness';
import { imageStoreOf } from '../../src/api/routes-images';

jest.setTimeout(60_000);

describeIf({ commands: ['redis-server'] })('software images (real HTTP, Redis)', () => {
  let h: ApiHarness;
  let dir: string;
  let file: string;
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
  beforeAll(async () => {
    h = await startApi();
    dir = mkdtempSync(path.join(tmpdir(), 'd2-images-'));
    file = path.join(dir, 'frr-9.1.bin');
    writeFileSync(file, bytes);
  });
  afterAll(async () => { await h?.stop(); rmSync(dir, { recursive: true, force: true }); });

  test('import, list, download by checksum, delete', async () => {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const r = await h.call('POST', '/api/v1/images', { body: { name: 'frr-9.1', platform: 'frr', version: '9.1', path: file } });
    expect(r.status).toBe(201);
    expect(r.json).toEqual(expect.objectContaining({ name: 'frr-9.1', platform: 'frr', version: '9.1', sha256: sha, size: bytes.length, url: `/images/frr-9.1/${sha}` }));
    // The copy is the service's: changing the source afterwards changes nothing served.
    writeFileSync(file, 'replaced');
    const dl = await fetch(`${h.base}/images/frr-9.1/${sha}`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('x-checksum-sha256')).toBe(sha);
    const got = Buffer.from(await dl.arrayBuffer());
    expect(createHash('sha256').update(got).digest('hex')).toBe(sha);
    // Unknown name, wrong checksum: 404, nothing served.
    expect((await fetch(`${h.base}/images/frr-9.1/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${h.base}/images/nope/${sha}`)).status).toBe(404);
    expect((await fetch(`${h.base}/images/frr-9.1/../../etc`)).status).toBe(404);
    const list = await h.call('GET', '/api/v1/images', { role: 'viewer' });
    expect(list.json.items.map((i: { name: string }) => i.name)).toEqual(['frr-9.1']);
    // Same name again: 409; the record is unchanged.
    const dup = await h.call('POST', '/api/v1/images', { body: { name: 'frr-9.1', platform: 'frr', version: '9.2', path: file } });
    expect(dup.status).toBe(409);
    expect((await h.call('GET', '/api/v1/images')).json.items[0].version).toBe('9.1');
    // In use by a plan: 409 naming the job; released: 204 and the download is gone.
    const images = imageStoreOf(h.store, h.t.dataDir);
    expect(await images.use('frr-9.1', 'job-123', 'dc1')).toBe(true);
    await h.redis.hset('job:job-123', 'state', 'running');
    const busy = await h.call('DELETE', '/api/v1/images/frr-9.1');
    expect(busy.status).toBe(409);
    expect(busy.json.jobId).toBe('job-123');
    // A use left by a job that ended without releasing it does not pin the image.
    await h.redis.hset('job:job-123', 'state', 'failed');
    expect((await h.call('DELETE', '/api/v1/images/frr-9.1')).status).toBe(204);
    expect((await fetch(`${h.base}/images/frr-9.1/${sha}`)).status).toBe(404);
    expect((await h.call('DELETE', '/api/v1/images/frr-9.1')).status).toBe(404);
  });

  test('bad input: clear 400s and nothing stored', async () => {
    const bad = async (body: unknown, re: RegExp) => {
      const r = await h.call('POST', '/api/v1/images', { body });
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(re);
    };
    await bad({ name: 'x', platform: 'frr', version: '1', path: '/nonexistent/file' }, /path: cannot read \/nonexistent\/file \(ENOENT\)/);
    await bad({ name: 'x', platform: 'frr', version: '1', path: dir }, /is not a regular file/);
    await bad({ name: 'x', platform: 'frr', version: '1', path: 'relative' }, /path/);
    await bad({ name: 'x', platform: 'eos', version: '1', path: file }, /platform/);
    await bad({ name: 'x', platform: 'frr', version: '1\nset system', path: file }, /version/);
    const mp = await h.call('POST', '/api/v1/images', { body: '--b\r\n', headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expect(mp.status).toBe(415);
    expect((await h.call('GET', '/api/v1/images')).json.items).toEqual([]);
    expect((await h.call('POST', '/api/v1/images', { role: 'operator', body: { name: 'x', platform: 'frr', version: '1', path: file } })).status).toBe(403);
  });
});
