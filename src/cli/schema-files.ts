// The generated files of the one schema (npm run schema:gen), as (repository path, content): the script
// scripts/gen-schema-docs.js writes them, test/unit/schema-docs.test.ts checks they are current.
// Reads the example fabric files (examples/*.yaml) the docs take their examples from.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { fabricFileMarkdown, fabricJsonSchemaText } from '../domain/schema-docs';

export const SCHEMA_FILE = 'schemas/fabric.schema.json';
export const DOCS_FILE = 'docs/fabric-file.md';

export function schemaFiles(root: string): [string, string][] {
  // Fabric files only (the demo-topology files describe a twin, not a fabric).
  const files = readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.yaml')).sort()
    .map((n) => ({ n, doc: load(readFileSync(path.join(root, 'examples', n), 'utf8')) as Record<string, unknown> }))
    .filter((f) => f.doc && typeof f.doc === 'object' && 'fabric' in f.doc);
  const names = files.map((f) => f.n);
  const samples = files.map((f) => f.doc);
  return [
    [SCHEMA_FILE, fabricJsonSchemaText()],
    [DOCS_FILE, fabricFileMarkdown(samples, names)],
  ];
}
