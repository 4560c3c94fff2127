// Helpers the platforms' render layouts share.

/** Drops leading blank lines and trailing whitespace (no regex: these strings can be large). */
export function stripBlankEdges(s: string): string {
  let lineStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) lineStart = i + 1;
    else if (c !== 32 && c !== 9 && c !== 13) return s.slice(lineStart).trimEnd();
  }
  return '';
}
