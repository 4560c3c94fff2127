// A unified diff, coloured: added and removed lines, hunk headers, line numbers, and config
// tokens (keywords, addresses, XML tags) so a reviewer reads it as config, not as text.
import { useMemo } from 'preact/hooks';
import { parseDiff, tokenize } from '../diff-parse';

export function Code({ line }: { line: string }) {
  return <>{tokenize(line).map((t, i) => (t.kind === 'text' ? t.text : <span key={i} class={`tok-${t.kind}`}>{t.text}</span>))}</>;
}

export function Diff({ text, label }: { text: string; label: string }) {
  const lines = useMemo(() => parseDiff(text), [text]);
  if (!lines.some((l) => l.kind === 'add' || l.kind === 'del')) return <div class="muted small">No changes.</div>;
  return (
    <div class="diff" role="table" aria-label={label}>
      {lines.map((l, i) => (
        <div key={i} class={`dl ${l.kind}`} role="row">
          <span class="ln" role="cell">{l.old ?? ''}</span>
          <span class="ln" role="cell">{l.new ?? ''}</span>
          <span class="sign" role="cell">{l.kind === 'add' ? '+' : l.kind === 'del' ? '−' : ''}</span>
          <code role="cell">{l.kind === 'add' || l.kind === 'del' || l.kind === 'ctx' ? <Code line={l.text} /> : l.text}</code>
        </div>
      ))}
    </div>
  );
}

/** A config file with line numbers and the same colouring. */
export function ConfigText({ text, label }: { text: string; label: string }) {
  const lines = useMemo(() => text.split('\n'), [text]);
  return (
    <div class="diff config" role="table" aria-label={label}>
      {lines.map((l, i) => (
        <div key={i} class="dl ctx" role="row"><span class="ln" role="cell">{i + 1}</span><code role="cell"><Code line={l} /></code></div>
      ))}
    </div>
  );
}
