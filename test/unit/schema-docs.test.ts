// The files generated from the one schema are current (regenerated and compared), and the JSON
// Schema editors get accepts every example fabric file and refuses what the parser refuses.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import Ajv from 'ajv';
import { schemaFiles, SCHEMA_FILE } from '../../src/cli/schema-files';
import { fabricJsonSchema } from '../../src/domain/schema-docs';

const ROOT = path.join(__dirname, '..', '..');

it('docs/fabric-file.md and schemas/fabric.schema.json are what `npm run schema:gen` writes', () => {
  for (const [rel, text] of schemaFiles(ROOT)) {
    const onDisk = readFileSync(path.join(ROOT, rel), 'utf8');
    // A stale file fails here: run `npm run schema:gen` and commit the result.
    expect({ file: rel, stale: onDisk !== text }).toEqual({ file: rel, stale: false });
  }
});

it('the docs page lists every key of the schema with its type, default and example', () => {
  const md = schemaFiles(ROOT).find(([rel]) => rel.endsWith('.md'))![1];
  expect(md).toContain('| `fabric.settings.mtu` | integer 1280..65535 |  | `9216` |');
  expect(md).toContain('| `vpgs[].bindings[].vlan` | integer 1..4094 | yes |  | `200` |');
  expect(md).toMatch(/\| `fabric.settings.ntp` \| list of string .*\| `\["10.0.0.5","ntp.example.net"\]` \|/);
  for (const key of ['fabric.snmp.v3.authKey', 'devices[].roles', 'links[].a.port', 'servers[].nics[].mac', 'logicalRouters[].mode']) expect(md).toContain(`| \`${key}\` |`);
});

describe('the JSON Schema file', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(path.join(ROOT, SCHEMA_FILE), 'utf8')));
  const example = (n: string) => load(readFileSync(path.join(ROOT, 'examples', `${n}.yaml`), 'utf8')) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

  it('is self-contained draft-07 (no reference outside it)', () => {
    const text = JSON.stringify(fabricJsonSchema());
    expect(text).toContain('"$schema":"http://json-schema.org/draft-07/schema#"');
    for (const ref of text.match(/"\$ref":"[^"]*"/g) ?? []) expect(ref).toMatch(/^"\$ref":"#\/definitions\/\w+"$/);
  });

  it.each(['dc1-frr', 'dc1-frr-services', 'dc1-junos'])('accepts examples/%s.yaml', (n) => {
    expect(validate(example(n)) ? [] : validate.errors).toEqual([]);
  });

  it('refuses an unknown key, a bad tier and a newline in a name, with the path', () => {
    const f = example('dc1-frr-services');
    f.devices[1].physicalRole = 'router';
    f.virtualNetworks[0].colour = 'blue';
    f.fabric.name = 'dc1\nset system';
    expect(validate(f)).toBe(false);
    const where = (validate.errors ?? []).map((e) => e.instancePath);
    expect(where).toEqual(expect.arrayContaining(['/devices/1/physicalRole', '/virtualNetworks/0', '/fabric/name']));
  });
});
