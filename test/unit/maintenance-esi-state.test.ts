// Verifying the ESI-LAG drain (src/jobs/maintenance/esi-state.ts): the twin agent's <evpn-es>
// tree from zebra's `show evpn es detail json` (a recorded-shape reply in test/fixtures/esi),
// Junos' terse interface information, and what counts as drained / restored / taken over.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { evpnEsState } from '../../src/lab/agent/netconf';
import { drainProblems, parseFrrEs, parseJunosPorts, peerProblems, restoreProblems } from '../../src/jobs/maintenance/esi-state';

const fx = (f: string) => readFileSync(path.join(__dirname, '../fixtures/esi', f), 'utf8');
const frrState = (doc: unknown) => `<data><frr-state xmlns="urn:fabric:frr"><bgp/>${evpnEsState(doc)}<phase>configured</phase></frr-state></data>`;
const LAGS = { frr: [{ lag: 'bond1', ports: ['swp10'] }], junos: [{ lag: 'ae0', ports: ['xe-0/0/10'] }] };

describe('FRR ES state', () => {
  const up = JSON.parse(fx('frr-show-evpn-es-detail.json'));
  const esi = '03:44:38:39:be:ef:aa:00:00:01';
  test('the agent renders zebra\'s ES list; the reader gets it back', () => {
    expect(parseFrrEs(frrState(up))).toEqual([{ esi, accessPort: 'bond1', flags: ['local', 'remote', 'df', 'readyForBgp', 'bridgePort', 'operUp', 'nexthopGroupActive'], vteps: ['10.255.0.4'] }]);
    expect(parseFrrEs(frrState([]))).toEqual([]);
    // an agent without the tree: undefined (cannot verify), not "no ES"
    expect(parseFrrEs('<data><frr-state xmlns="urn:fabric:frr"><bgp/></frr-state></data>')).toBeUndefined();
    expect(evpnEsState({ not: 'an array' })).toBe('<evpn-es></evpn-es>');
  });
  test('drained = the ES on the bond neither operUp nor df; restored = operUp again', () => {
    const seen = parseFrrEs(frrState(up));
    expect(drainProblems('frr', LAGS.frr, seen)).toEqual([`ES ${esi} on bond1 is still up`, `ES ${esi} on bond1: still designated forwarder`]);
    expect(restoreProblems('frr', LAGS.frr, seen)).toEqual([]);
    const down = parseFrrEs(frrState([{ ...up[0], flags: ['local', 'remote', 'nonDF', 'readyForBgp', 'bridgePort'] }]));
    expect(drainProblems('frr', LAGS.frr, down)).toEqual([]);
    expect(restoreProblems('frr', LAGS.frr, down)).toEqual([`ES ${esi} on bond1 is not up yet`]);
    expect(drainProblems('frr', LAGS.frr, undefined)[0]).toMatch(/cannot be verified/);
    expect(restoreProblems('frr', LAGS.frr, [])).toEqual(['no ES on bond1']);
  });
  test('the ES peer must hold that ES up and as designated forwarder', () => {
    expect(peerProblems('leaf4', [esi], parseFrrEs(frrState(up)))).toEqual([]);
    expect(peerProblems('leaf4', [esi], parseFrrEs(frrState([{ ...up[0], flags: ['local', 'remote', 'nonDF', 'operUp'] }]))))
      .toEqual([`leaf4: ES ${esi} is local,remote,nonDF,operUp, not up and designated forwarder`]);
    expect(peerProblems('leaf4', [esi], [])).toEqual([`leaf4 has no ES ${esi}`]);
  });
});

describe('Junos LAG state (get-interface-information terse)', () => {
  const seen = parseJunosPorts(fx('junos-interface-terse-drained.xml'));
  test('physical interfaces with trimmed names and statuses (logical units ignored)', () => {
    expect(seen).toEqual([
      { name: 'xe-0/0/10', admin: 'down', oper: 'down' }, { name: 'ae0', admin: 'up', oper: 'down' }, { name: 'et-0/0/48', admin: 'up', oper: 'up' },
    ]);
  });
  test('drained: members admin down and the ae down; restored needs both up', () => {
    expect(drainProblems('junos', LAGS.junos, seen)).toEqual([]);
    expect(restoreProblems('junos', LAGS.junos, seen)).toEqual(['xe-0/0/10 (member of ae0) is admin down, not up', 'ae0 is oper down, not up']);
    const back = seen.map((p) => ({ ...p, admin: 'up', oper: 'up' }));
    expect(restoreProblems('junos', LAGS.junos, back)).toEqual([]);
    expect(drainProblems('junos', LAGS.junos, back)).toEqual(['xe-0/0/10 (member of ae0) is admin up, not down', 'ae0 is oper up, not down']);
  });
});
