// docker-compose.yml cannot run here (no Docker engine): prove it parses and wires the
// three services the way the service expects them.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const file = path.join(__dirname, '../../docker-compose.yml');

describe('docker-compose.yml', () => {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true });
  const services = doc.services;

  it('names exactly redis, api and worker', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'redis', 'worker']);
  });

  it('runs redis with AOF on a named volume', () => {
    const cmd: string[] = services.redis.command;
    expect(cmd[0]).toBe('redis-server');
    expect(cmd[cmd.indexOf('--appendonly') + 1]).toBe('yes');
    expect(services.redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(doc.volumes)).toContain('redis-data');
  });

  it('starts the API and the workers from the built tree, on the shared Redis', () => {
    expect(services.api.command).toEqual(['node', 'dist/src/api/main.js']);
    expect(services.worker.command).toEqual(['node', 'dist/workers/main.js']);
    for (const s of ['api', 'worker']) {
      expect(services[s].environment.REDIS_URL).toBe('redis://redis:6379');
      expect(services[s].environment.DATA_DIR).toBe('/data');
      expect(services[s].depends_on.redis.condition).toBe('service_healthy');
    }
    expect(services.api.environment.PORT).toBe('8080');
    expect(services.api.ports).toContain('8080:8080');
  });

  it('lets workers scale: no fixed container name or published port on worker', () => {
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
  });

  it('points at entry points that exist in the source tree', () => {
    for (const src of ['src/api/main.ts', 'workers/main.ts']) {
      expect(() => readFileSync(path.join(__dirname, '../..', src))).not.toThrow();
    }
  });
});
