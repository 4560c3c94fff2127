// How the CLI prints what it reads: `--output table|json|yaml` on every read command.
// Tables have human headers ("MANAGEMENT IP", not "MANAGEMENTIP"); json and yaml print the
// API's reply as it came, so scripts get every field.
import type { Command } from 'commander';
import { Option } from 'commander';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** `managementIp` -> `MANAGEMENT IP`, `a.device` -> `A DEVICE`, `vlan_id` -> `VLAN ID`. */
export function humanHeader(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/[._-]+/g, ' ')
    .trim()
    .toUpperCase();
}

/** One table cell: scalars as text, scalar arrays joined, objects as compact JSON. */
export function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  // A cell is one line: a multi-line value (a config, a diff) would break the columns.
  return String(v).replace(/\r?\n/g, '\\n');
}

const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v)
  || (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object'));

/**
 * Columns for rows without a given list: the keys of the rows, in first-seen order, keeping
 * only those whose values are scalars or scalar lists (nested records read badly in a cell).
 */
export function pickColumns(rows: Record<string, unknown>[], max = 9): string[] {
  const cols: string[] = [];
  const nested = new Set<string>();
  for (const r of rows) {
    for (const [k, v] of Object.entries(r)) {
      if (v !== undefined && !isScalar(v)) nested.add(k);
      if (!cols.includes(k)) cols.push(k);
    }
  }
  return cols.filter((c) => !nested.has(c)).slice(0, max);
}

export function formatTable(rows: Record<string, unknown>[], cols: string[] = pickColumns(rows)): string {
  if (cols.length === 0) return rows.length ? `${rows.length} rows\n` : '(none)\n';
  const headers = cols.map(humanHeader);
  const cells = rows.map((r) => cols.map((c) => cell(c.includes('.') ? c.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), r) : r[c])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** A single record as two columns, FIELD and VALUE (nested values as compact JSON). */
export function formatRecord(rec: Record<string, unknown>): string {
  const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
  if (keys.length === 0) return '(empty)\n';
  const w = Math.max(...keys.map((k) => humanHeader(k).length));
  return keys.map((k) => `${humanHeader(k).padEnd(w)}  ${cell(rec[k])}`.trimEnd()).join('\n') + '\n';
}

export function toJson(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

export function toYaml(v: unknown): string {
  // Loaded here, not at the top: `fabric --help` must not pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { dump } = require('js-yaml') as typeof import('js-yaml');
  return dump(v, { noRefs: true, lineWidth: 120 });
}

/**
 * Any reply in the chosen format. Table: `{items: [...]}` and arrays as rows, other records
 * as FIELD/VALUE, text as it is.
 */
export function formatReply(v: unknown, format: OutputFormat, cols?: string[]): string {
  if (format === 'json') return toJson(v);
  if (format === 'yaml') return toYaml(v);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'object') return `${String(v)}\n`;
  const rows = Array.isArray(v) ? v : Array.isArray((v as { items?: unknown }).items) ? (v as { items: unknown[] }).items : undefined;
  if (rows) {
    const objs = rows.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? r as Record<string, unknown> : { value: r }));
    const out = formatTable(objs, cols && cols.length ? cols : undefined);
    const next = (v as { next?: unknown }).next;
    return next ? `${out}(more: --since ${String(next)})\n` : out;
  }
  return formatRecord(v as Record<string, unknown>);
}

/** Adds `--output <format>` to a read command (default table); completion offers the choices. */
export function withOutput(cmd: Command, dflt: OutputFormat = 'table'): Command {
  return cmd.addOption(new Option('--output <format>', 'table | json | yaml').default(dflt).choices(OUTPUT_FORMATS));
}
