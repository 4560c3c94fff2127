import { parseXml, parseFragment, innerXml, XmlParseError, child, textOf } from '../../src/netconf/xml';
import { mergeConfig, subtreeFilter, diffConfig, prettyXml } from '../../src/lab/netconf-server/datastore';
import { RpcError } from '../../src/netconf/errors';
import { parseRpcErrors } from '../../src/netconf/client';

describe('xml reader', () => {
  it('resolves namespaces, decodes entities and CDATA, keeps raw inner XML', () => {
    const src =
      '<?xml version="1.0"?><nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="a&amp;b">' +
      '<nc:edit-config><nc:config><sys xmlns="urn:s"><d>x &lt; y</d><c><![CDATA[<raw>]]></c></sys></nc:config></nc:edit-config></nc:rpc>';
    const rpc = parseXml(src);
    expect(rpc.name).toBe('rpc');
    expect(rpc.ns).toBe('urn:ietf:params:xml:ns:netconf:base:1.0');
    expect(rpc.attrs['message-id']).toBe('a&b');
    const cfg = child(child(rpc, 'edit-config'), 'config')!;
    expect(innerXml(cfg)).toBe('<sys xmlns="urn:s"><d>x &lt; y</d><c><![CDATA[<raw>]]></c></sys>');
    const sys = child(cfg, 'sys')!;
    expect(sys.ns).toBe('urn:s');
    expect(textOf(child(sys, 'd'))).toBe('x < y');
    expect(textOf(child(sys, 'c'))).toBe('<raw>');
  });

  it('refuses DOCTYPE (no entity expansion) and reports where XML is broken', () => {
    expect(() => parseXml('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')).toThrow(/DOCTYPE and declarations are not allowed at offset 0/);
    expect(() => parseXml('<a><b></a>')).toThrow(XmlParseError);
    expect(() => parseXml('<a><b></a>')).toThrow('end tag </a> does not match <b> at offset 6');
    expect(() => parseXml('<a>&bogus;</a>')).toThrow(/unknown entity/);
    expect(() => parseXml('<a/><b/>')).toThrow(/expected one root element, found 2/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate attribute x/);
  });

  it('fragments keep top-level text and elements in order', () => {
    const nodes = parseFragment(' <a/>t<b>1</b>');
    expect(nodes.map((n) => (n.type === 'text' ? `text:${n.value}` : n.name))).toEqual(['text: ', 'a', 'text:t', 'b']);
  });
});

describe('schema-less datastore', () => {
  const IF = (...xs: string[]) => `<interfaces xmlns="urn:if">${xs.join('')}</interfaces>`;
  const I = (name: string, body = '') => `<interface><name>${name}</name>${body}</interface>`;
  const NC = 'xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"';

  it('merge: list entries keyed by <name>, leaves replaced, new entries appended, other top-level elements kept', () => {
    const cur = IF(I('a', '<mtu>1500</mtu>'), I('b')) + '<system xmlns="urn:s"><hostname>h</hostname></system>';
    const out = mergeConfig(cur, IF(I('a', '<mtu>9216</mtu><description>up</description>'), I('c')));
    expect(out).toBe(IF(I('a', '<mtu>9216</mtu><description>up</description>'), I('b'), I('c')) + '<system xmlns="urn:s"><hostname>h</hostname></system>');
  });

  it('operation attributes: delete, remove, create, replace; errors name the path', () => {
    const cur = IF(I('a', '<mtu>1500</mtu>'), I('b'));
    expect(mergeConfig(cur, `<interfaces xmlns="urn:if" ${NC}><interface nc:operation="delete"><name>a</name></interface></interfaces>`)).toBe(IF(I('b')));
    expect(mergeConfig(cur, `<interfaces xmlns="urn:if" ${NC}><interface nc:operation="remove"><name>zz</name></interface></interfaces>`)).toBe(IF(I('a', '<mtu>1500</mtu>'), I('b')));
    expect(mergeConfig(cur, `<interfaces xmlns="urn:if" ${NC}><interface nc:operation="replace"><name>a</name></interface></interfaces>`)).toBe(IF(I('a'), I('b')));
    try {
      mergeConfig(cur, `<interfaces xmlns="urn:if" ${NC}><interface nc:operation="create"><name>b</name></interface></interfaces>`);
      throw new Error('expected data-exists');
    } catch (e) {
      expect(e).toBeInstanceOf(RpcError);
      expect((e as RpcError).errors[0]).toMatchObject({ tag: 'data-exists', path: '/interfaces/interface' });
    }
    // Junos attribute style
    expect(mergeConfig(cur, '<interfaces xmlns="urn:if"><interface delete="delete"><name>b</name></interface></interfaces>')).toBe(IF(I('a', '<mtu>1500</mtu>')));
  });

  it('Junos leaf-lists (apply-groups): one entry per value; merge adds, delete removes only its value, the order is kept', () => {
    const A = (g: string, attr = '') => `<apply-groups${attr}>${g}</apply-groups>`;
    const cur = `<configuration>${A('a')}${A('b')}</configuration>`;
    expect(mergeConfig(cur, `<configuration>${A('b')}${A('c')}</configuration>`)).toBe(`<configuration>${A('a')}${A('b')}${A('c')}</configuration>`);
    expect(mergeConfig(cur, `<configuration>${A('a', ' delete="delete"')}</configuration>`)).toBe(`<configuration>${A('b')}</configuration>`);
    expect(subtreeFilter(`${cur}<system/>`, '<configuration><apply-groups/></configuration>')).toBe(cur);
  });

  it('default-operation replace swaps everything; none only applies explicit operations', () => {
    expect(mergeConfig(IF(I('a')), '<x/>', 'replace')).toBe('<x/>');
    expect(mergeConfig(IF(I('a'), I('b')), `<interfaces xmlns="urn:if" ${NC}><interface><name>a</name><mtu>1</mtu></interface><interface nc:operation="delete"><name>b</name></interface></interfaces>`, 'none')).toBe(
      IF(I('a')),
    );
  });

  it('subtree filter: selection, containment, content match (RFC 6241 §6)', () => {
    const cfg = IF(I('a', '<mtu>1500</mtu>'), I('b', '<mtu>9216</mtu>')) + '<system xmlns="urn:s"><hostname>h</hostname></system>';
    expect(subtreeFilter(cfg, '<system xmlns="urn:s"/>')).toBe('<system xmlns="urn:s"><hostname>h</hostname></system>');
    expect(subtreeFilter(cfg, '<interfaces xmlns="urn:if"><interface><name>b</name></interface></interfaces>')).toBe(IF(I('b', '<mtu>9216</mtu>')));
    expect(subtreeFilter(cfg, '<interfaces xmlns="urn:if"><interface><name>a</name><mtu/></interface></interfaces>')).toBe(IF(I('a', '<mtu>1500</mtu>')));
    expect(subtreeFilter(cfg, '<interfaces xmlns="urn:other"/>')).toBe('');
    expect(subtreeFilter(cfg, '')).toBe('');
  });

  it('diff: pretty-printed unified diff, empty when equal, text passes through', () => {
    expect(diffConfig(IF(I('a')), IF(I('a')))).toBe('');
    const d = diffConfig(IF(I('a')), IF(I('a'), I('b')), ['rollback 0', 'candidate']);
    expect(d).toContain('--- rollback 0');
    expect(d).toContain('+++ candidate');
    expect(d).toContain('+  <interface>\n+    <name>b</name>\n+  </interface>');
    expect(prettyXml('router bgp 65001\n')).toBe('router bgp 65001\n');
    expect(diffConfig('router bgp 65001\n', 'router bgp 65002\n')).toContain('-router bgp 65001\n+router bgp 65002');
  });
});

describe('rpc-error parsing', () => {
  it('reads every field, keeps warnings apart, and reads Junos xnm:error', () => {
    const reply = parseXml(
      '<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1">' +
        '<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity>' +
        '<error-path>/x</error-path><error-message xml:lang="en">held</error-message><error-info><session-id>4</session-id></error-info></rpc-error>' +
        '<rpc-error><error-type>application</error-type><error-tag>operation-failed</error-tag><error-severity>warning</error-severity></rpc-error>' +
        '<load-configuration-results><xnm:error xmlns:xnm="http://xml.juniper.net/xnm/1.1/xnm"><edit-path>[edit system]</edit-path><message>syntax error</message></xnm:error></load-configuration-results>' +
        '</rpc-reply>',
    );
    expect(parseRpcErrors(reply)).toEqual([
      { type: 'protocol', tag: 'lock-denied', severity: 'error', path: '/x', message: 'held', info: { 'session-id': '4' } },
      { type: 'application', tag: 'operation-failed', severity: 'warning' },
      { type: 'application', tag: 'operation-failed', severity: 'error', message: 'syntax error', path: '[edit system]' },
    ]);
  });
});
