// Output formats, the job stream's pure parts, completion, the service URL, config flags.
import { load } from 'js-yaml';
import { cell, formatReply, formatTable, humanHeader } from '../../src/cli/output';
import { applyPatch, parseSse, type JobView } from '../../src/cli/watch';
import { bashCompletion } from '../../src/cli/completion';
import { clientOptionsFromEnv, serviceBaseUrl } from '../../src/cli/api-client';
import { requestBody, requestPath } from '../../src/cli/generated';
import { buildProgram, main, type CliContext } from '../../src/cli/main';
import { ConfigError, flagsToEnv, loadConfig } from '../../src/config';
import type { CliOperation } from '../../src/cli/table-build';

function capture(): CliContext & { stdout: string; stderr: string } {
  const c = { stdout: '', stderr: '', env: {}, out: (t: string) => { c.stdout += t; }, err: (t: string) => { c.stderr += t; } };
  return c;
}

describe('output', () => {
  test('human headers, not squashed camelCase', () => {
    expect(humanHeader('managementIp')).toBe('MANAGEMENT IP');
    expect(humanHeader('onboardingState')).toBe('ONBOARDING STATE');
    expect(humanHeader('osVersion')).toBe('OS VERSION');
    expect(humanHeader('vni')).toBe('VNI');
    expect(humanHeader('sysObjectIds')).toBe('SYS OBJECT IDS');
    expect(formatTable([{ managementIp: '10.0.0.1', roles: ['a', 'b'] }]).split('\n')[0]).toBe('MANAGEMENT IP  ROLES');
  });

  test('cells: lists joined, records as JSON, missing as -, one line each', () => {
    expect(cell(['x', 'y'])).toBe('x,y');
    expect(cell({ a: 1 })).toBe('{"a":1}');
    expect(cell(undefined)).toBe('-');
    expect(cell('a\nb')).toBe('a\\nb');
  });

  test('table, json and yaml of one reply', () => {
    const reply = { items: [{ name: 'leaf1', vni: 10, nested: { x: 1 } }, { name: 'leaf2', vni: 20, nested: { x: 2 } }] };
    const t = formatReply(reply, 'table');
    expect(t).toBe('NAME   VNI\nleaf1  10\nleaf2  20\n');
    expect(JSON.parse(formatReply(reply, 'json'))).toEqual(reply);
    expect(load(formatReply(reply, 'yaml'))).toEqual(reply);
    expect(formatReply({ name: 'dc1', overlayAsn: 64512 }, 'table')).toBe('NAME         dc1\nOVERLAY ASN  64512\n');
    expect(formatReply(reply, 'table', ['name'])).toBe('NAME\nleaf1\nleaf2\n');
  });

  test('--output rejects an unknown format with one line', async () => {
    const c = capture();
    expect(await main(['fabrics', 'list', '--output', 'xml'], c)).toBe(1);
    expect(c.stderr).toBe("fabric: option '--output <format>' argument 'xml' is invalid. Allowed choices are table, json, yaml.\n");
  });

  test('every read command has --output', () => {
    const p = buildProgram(capture());
    const reads: string[] = [];
    const walk = (c: typeof p, path: string[]) => {
      for (const s of c.commands) {
        const name = [...path, s.name()];
        const desc = s.description();
        if (s.commands.length) walk(s, name);
        else if (/Calls GET /.test(desc) || ['list', 'show', 'logs', 'config'].includes(s.name())) reads.push(name.join(' '));
        if (!s.commands.length && (/Calls GET /.test(desc) || ['list', 'show', 'logs'].includes(s.name()))) {
          expect([name.join(' '), s.options.some((o) => o.long === '--output')]).toEqual([name.join(' '), true]);
        }
      }
    };
    walk(p, []);
    expect(reads.length).toBeGreaterThan(20);
  });
});

describe('generated requests', () => {
  const op: CliOperation = {
    group: 'devices', name: 'config-history', method: 'GET', path: '/fabrics/{f}/devices/{d}/config/history', summary: '', args: ['f', 'd'],
    query: [{ name: 'limit', type: 'integer' }],
  };
  test('path arguments are URL-encoded, query options appended', () => {
    expect(requestPath(op, ['dc 1', 'a/b'], { limit: 3, output: 'table' })).toBe('/fabrics/dc%201/devices/a%2Fb/config/history?limit=3');
    expect(requestPath(op, ['dc1', 'x'], {})).toBe('/fabrics/dc1/devices/x/config/history');
  });
  test('body: options over --file, only known fields', () => {
    const post: CliOperation = { ...op, method: 'POST', body: { required: true, fields: [{ name: 'name', type: 'string' }, { name: 'roles', type: 'array' }] } };
    expect(requestBody(post, { name: 'leaf9', roles: ['x'], output: 'json' })).toEqual({ name: 'leaf9', roles: ['x'] });
  });
});

describe('job stream (pure parts)', () => {
  test('parseSse splits events, skips heartbeats, keeps the unfinished rest', () => {
    const r = parseSse('event: job\ndata: {"a":1}\n\n: ping\n\nevent: patch\ndata: {"b"');
    expect(r.events).toEqual([{ event: 'job', data: '{"a":1}' }]);
    expect(r.rest).toBe('event: patch\ndata: {"b"');
  });
  test('applyPatch: state, step states by index, devices merged, log appended', () => {
    const j: JobView = { id: 'j', type: 't', state: 'running', progress: 10, steps: [{ name: 'push', state: 'queued', device: 'a' }, { name: 'push', state: 'queued', device: 'b' }], log: [{ at: 'x', message: 'm1' }], devices: { a: { state: 'queued' } } };
    const { job, lines } = applyPatch(j, { state: 'running', progress: 50, stepStates: [[1, 'running']], devices: { b: { state: 'running' } }, log: [{ at: 'y', message: 'm2' }] });
    expect(job.progress).toBe(50);
    expect(job.steps.map((s) => s.state)).toEqual(['queued', 'running']);
    expect(Object.keys(job.devices)).toEqual(['a', 'b']);
    expect(lines).toEqual([{ at: 'y', message: 'm2' }]);
    expect(j.steps[1].state).toBe('queued'); // the old view is not changed
  });
});

describe('completion, version, URL', () => {
  test('bash completion knows commands, subcommands and --output choices; bash parses it', () => {
    const s = bashCompletion(buildProgram(capture()));
    expect(s).toContain("complete -o filenames -F _fabric fabric");
    expect(s).toMatch(/'devices'\)\n\s+case "\$prev" in\n(.*\n)*?\s+words='[^']*\bset-roles\b/);
    expect(s).toContain("--output) COMPREPLY=($(compgen -W 'table json yaml' -- \"$cur\")); return;;");
    // The script is valid bash (bash -n), and completes `fabric dev` to devices.
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const out = execFileSync('bash', ['-c', `${s}\nCOMP_WORDS=(fabric dev); COMP_CWORD=1; _fabric; echo "\${COMPREPLY[*]}"; COMP_WORDS=(fabric jobs w); COMP_CWORD=2; _fabric; echo "\${COMPREPLY[*]}"; COMP_WORDS=(fabric jobs show x --output ''); COMP_CWORD=5; _fabric; echo "\${COMPREPLY[*]}"; COMP_WORDS=(fabric networks l); COMP_CWORD=2; _fabric; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
    expect(out.split('\n').slice(0, 4)).toEqual(['devices', 'watch', 'table json yaml', 'list']);
  });

  test('fabric --version prints the package version', async () => {
    const c = capture();
    expect(await main(['--version'], c)).toBe(0);
    expect(c.stdout).toBe(`${(require('../../package.json') as { version: string }).version}\n`);
  });

  test('FABRIC_API_URL with or without /api/v1 names the service once', () => {
    expect(serviceBaseUrl('http://h:8080/api/v1')).toBe('http://h:8080');
    expect(serviceBaseUrl('http://h:8080/api/v1/')).toBe('http://h:8080');
    expect(serviceBaseUrl('http://h:8080/')).toBe('http://h:8080');
    expect(serviceBaseUrl(undefined)).toBe('http://127.0.0.1:8080');
    expect(clientOptionsFromEnv({ FABRIC_API_URL: 'http://h:1/api/v1', FABRIC_TOKEN: 't' }).url).toBe('http://h:1');
  });
});

describe('embedded Redis port', () => {
  test('REDIS_PORT and --redis-port set it; a bad value and a conflict with REDIS_URL are errors', () => {
    expect(loadConfig({ REDIS_PORT: '6390' }).redisPort).toBe(6390);
    expect(loadConfig({}).redisPort).toBeUndefined();
    expect(loadConfig({ REDIS_PORT: '1', ...flagsToEnv(['--redis-port', '6391']) }).redisPort).toBe(6391);
    expect(flagsToEnv(['--redis-port=7000', '--port', '9'])).toEqual({ REDIS_PORT: '7000', PORT: '9' });
    expect(() => loadConfig({ REDIS_PORT: 'x' })).toThrow('REDIS_PORT: expected an integer, got "x"');
    expect(() => loadConfig({ REDIS_PORT: '70000' })).toThrow('REDIS_PORT: 70000 is outside 1..65535');
    expect(() => loadConfig({ REDIS_PORT: '6390', REDIS_URL: 'redis://h:1' })).toThrow(ConfigError);
    expect(() => flagsToEnv(['--nope'])).toThrow(/--nope: unknown option/);
    expect(() => flagsToEnv(['--redis-port'])).toThrow('--redis-port: needs a value');
  });
});

describe('quiet logs', () => {
  test('DHCP: a lease bound, declined or a pool exhausted is a milestone (info); the rest is debug', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dhcpLogLevel } = require('../../src/discovery/service') as typeof import('../../src/discovery/service');
    expect(dhcpLogLevel('dhcp: bound 10.0.0.5 to SIM0101 (fabric dc1)')).toBe('info');
    expect(dhcpLogLevel('dhcp: aa:bb declined 10.0.0.9 (address in use): not offered for 60 s')).toBe('info');
    expect(dhcpLogLevel('dhcp: pool 10.0.0.0/24 of fabric dc1 is exhausted: no offer to aa:bb')).toBe('info');
    expect(dhcpLogLevel('dhcp: renewed 10.0.0.5 to SIM0101 (fabric dc1)')).toBe('debug');
    expect(dhcpLogLevel('dhcp: DISCOVER from aa:bb via local segment matches no onboarding fabric: no answer')).toBe('debug');
    expect(dhcpLogLevel('dhcp: malformed packet from 10.0.0.7: short')).toBe('debug');
  });
});
