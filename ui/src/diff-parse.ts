// Unified diffs (as the push reports them: src/jobs/push.ts) split into typed lines with their
// old/new line numbers, and config text into tokens for colouring. Pure (unit-tested).

export type DiffKind = 'file' | 'hunk' | 'add' | 'del' | 'ctx' | 'meta';
export interface DiffLine { kind: DiffKind; text: string; old?: number; new?: number }

export function parseDiff(text: string): DiffLine[] {
  const out: DiffLine[] = [];
  let o = 0;
  let n = 0;
  for (const line of text.split('\n')) {
    if (/^={5,}$/.test(line) || /^Index: /.test(line)) continue;
    if (line.startsWith('+++ ') || line.startsWith('--- ')) { out.push({ kind: 'file', text: line }); continue; }
    const h = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (h) { o = Number(h[1]); n = Number(h[2]); out.push({ kind: 'hunk', text: line }); continue; }
    if (line.startsWith('\\')) { out.push({ kind: 'meta', text: line }); continue; }
    if (line.startsWith('+')) out.push({ kind: 'add', text: line.slice(1), new: n++ });
    else if (line.startsWith('-')) out.push({ kind: 'del', text: line.slice(1), old: o++ });
    else if (line.startsWith(' ')) out.push({ kind: 'ctx', text: line.slice(1), old: o++, new: n++ });
    else if (line !== '') out.push({ kind: 'meta', text: line });
  }
  return out;
}

export function diffStats(text: string | undefined): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of parseDiff(text ?? '')) {
    if (l.kind === 'add') added++;
    else if (l.kind === 'del') removed++;
  }
  return { added, removed };
}

export type TokenKind = 'kw' | 'num' | 'str' | 'comment' | 'tag' | 'text';
export interface Token { kind: TokenKind; text: string }

const TOKEN = /(<\/?[A-Za-z][\w:.-]*|\/?>)|(\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b|\b\d+\b)|("[^"]*")/g;

/** FRR/Junos config text as tokens: comments, the leading keyword, addresses and numbers, XML tags. */
export function tokenize(line: string): Token[] {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('!') || trimmed.startsWith('#') || trimmed.startsWith('<!--')) return [{ kind: 'comment', text: line }];
  const out: Token[] = [];
  let i = 0;
  // the first word of an FRR line says what it is (router, neighbor, interface ...)
  const kw = /^(\s*)([a-z][\w-]*)/.exec(line);
  if (kw && !trimmed.startsWith('<')) {
    if (kw[1]) out.push({ kind: 'text', text: kw[1] });
    out.push({ kind: 'kw', text: kw[2] });
    i = kw[0].length;
  }
  const rest = line.slice(i);
  let last = 0;
  for (const m of rest.matchAll(TOKEN)) {
    if (m.index! > last) out.push({ kind: 'text', text: rest.slice(last, m.index) });
    out.push({ kind: m[1] ? 'tag' : m[2] ? 'num' : 'str', text: m[0] });
    last = m.index! + m[0].length;
  }
  if (last < rest.length) out.push({ kind: 'text', text: rest.slice(last) });
  return out;
}
