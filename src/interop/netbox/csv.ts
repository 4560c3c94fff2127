// CSV as NetBox's bulk import reads and its export writes it (RFC 4180): a header row of field
// names, commas, fields with a comma, quote or line break in double quotes (quotes doubled).
// Pure.

export type CsvRow = Record<string, string>;

function field(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(columns: readonly string[], rows: CsvRow[]): string {
  const lines = [columns.join(',')];
  for (const r of rows) lines.push(columns.map((c) => field(r[c] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}

export class CsvError extends Error {}

/** Rows keyed by the header's names (lower-cased, as NetBox matches them). `where` names the file in errors. */
export function parseCsv(text: string, where: string): CsvRow[] {
  const records: string[][] = [];
  let rec: string[] = [];
  let cur = '';
  let quoted = false;
  let line = 1;
  const t = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (quoted) {
      if (ch === '"' && t[i + 1] === '"') { cur += '"'; i++; }
      else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; cur += ch; }
      continue;
    }
    if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') { rec.push(cur); cur = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && t[i + 1] === '\n') i++;
      rec.push(cur); cur = '';
      if (rec.some((f) => f !== '')) records.push(rec);
      rec = [];
      line++;
    } else cur += ch;
  }
  if (quoted) throw new CsvError(`${where}: line ${line}: a quoted field is not closed`);
  rec.push(cur);
  if (rec.some((f) => f !== '')) records.push(rec);
  if (!records.length) return [];
  const head = records[0].map((h) => h.trim().toLowerCase());
  return records.slice(1).map((r, i) => {
    if (r.length > head.length) throw new CsvError(`${where}: row ${i + 1}: ${r.length} fields, the header has ${head.length}`);
    const o: CsvRow = {};
    head.forEach((h, j) => { o[h] = (r[j] ?? '').trim(); });
    return o;
  });
}
