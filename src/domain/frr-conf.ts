// FRR configuration text as a tree: top-level lines, contexts (interface, router bgp, ...) and
// their sub-contexts (address-family, vni), each node with the text lines it spans. One parser
// for both sides of a push: the twin's device agent (what to remove, src/lab/agent/frrconf.ts)
// and the service weaving its lines into a device's own config (src/platforms/frr/adopted.ts).
// Pure.

export interface ConfNode {
  line: string;
  children: ConfNode[];
  /** index of its first and last text line (a context: its header to its closing line) */
  from?: number;
  to?: number;
}

/** Top-level lines that open a context (closed by `exit`, `!` at column 0, or the next opener). */
export const TOP_CONTEXT = /^(interface|router|vrf|route-map|bfd|key chain|line|mpls|segment-routing|nexthop-group|pbr-map|l2vpn|pseudowire|rpki|srv6|affinity-map)\b/;
/** Sub-contexts and their closing keyword. */
export const SUB_CONTEXTS: [RegExp, string][] = [
  [/^address-family\b/, 'exit-address-family'],
  [/^vni\b/, 'exit-vni'],
  [/^peer\b/, 'exit'],
  [/^profile\b/, 'exit'],
  [/^vrf-policy\b/, 'exit-vrf-policy'],
  [/^vnc\b/, 'exit-vnc'],
];
/** Lines that never take part in a diff. */
const IGNORED = /^(frr version|frr defaults|end|service integrated-vtysh-config|!)/;

export function normaliseLine(l: string): string {
  return l.trim().replace(/\s+/g, ' ');
}

export function parseFrrConf(text: string): ConfNode[] {
  const root: ConfNode[] = [];
  let top: ConfNode | undefined;
  let sub: { node: ConfNode; close: string } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const indented = /^\s/.test(raw);
    const line = normaliseLine(raw);
    if (line === '' || IGNORED.test(line)) {
      if (!indented && line === '!') { /* a column-0 '!' separates stanzas; contexts end at 'exit' */ }
      continue;
    }
    if (sub) {
      top!.to = sub.node.to = i;
      if (line === sub.close) { sub = undefined; continue; }
      sub.node.children.push({ line, children: [], from: i, to: i });
      continue;
    }
    if (top) {
      if (line === 'exit' || line === 'quit') { top.to = i; top = undefined; continue; }
      if (!indented && TOP_CONTEXT.test(line)) {
        top = undefined; // a new opener ends the previous context (tolerate missing 'exit')
      } else if (!indented && !TOP_CONTEXT.test(line) && !SUB_CONTEXTS.some(([re]) => re.test(line)) && !looksLikeChild(line)) {
        top = undefined; // a column-0 global line after an unclosed context
      } else {
        const s = SUB_CONTEXTS.find(([re]) => re.test(line));
        const node: ConfNode = { line, children: [], from: i, to: i };
        top.children.push(node);
        top.to = i;
        if (s) sub = { node, close: s[1] };
        continue;
      }
    }
    if (line === 'exit') continue;
    const node: ConfNode = { line, children: [], from: i, to: i };
    root.push(node);
    if (TOP_CONTEXT.test(line)) top = node;
  }
  return root;
}

/** Lines that only make sense inside a context, even when rendered at column 0. */
export function looksLikeChild(line: string): boolean {
  return /^(no )?(ip |ipv6 |neighbor |bgp |network |redistribute |description |mtu |shutdown|match |set |on-match|call |advertise|evpn |route-target |rd |maximum-paths |timers |distance |aggregate-address |vrf |vni |link-detect|evpn-|echo-|receive-interval|transmit-interval|detect-multiplier|passive-mode|minimum-ttl|label |bandwidth |multicast|router-id )/.test(line);
}
