// The twin agent applies the ESI-LAG side of the drain (src/jobs/maintenance/esi-drain.ts): a
// bond member with `link-down yes` is set down and stays down (the member loop that brings bond
// members back up after enslaving leaves it alone); the undrained text brings it up again.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseInterfaces, planReconcile, EMPTY_NETDEV_STATE } from '../../src/lab/agent/interfaces';
import { drainFiles } from '../../src/jobs/maintenance/drain';

const golden = (f: string) => readFileSync(path.join(__dirname, '../golden/services-frr', f), 'utf8');
const files = { 'leaf3.frr.conf': golden('leaf3.frr.conf'), 'leaf3.interfaces': golden('leaf3.interfaces') };
const existing = new Set(['lo', 'eth0', 'swp10', 'swp51', 'swp52']);
/** The last `ip link set PORT up|down` the plan gives (what the port ends as). */
const last = (cmds: string[][], port: string) => cmds.filter((c) => c[0] === 'ip' && c[1] === 'link' && c[2] === 'set' && c[3] === port && ['up', 'down'].includes(c[4])).map((c) => c[4]).pop();

test('drained: the ESI bond member ends down; undrained: up again', () => {
  const intended = planReconcile(parseInterfaces(files['leaf3.interfaces']), EMPTY_NETDEV_STATE, existing);
  expect(last(intended.commands, 'swp10')).toBe('up');
  const drained = drainFiles('frr', files)['leaf3.interfaces'];
  const d = planReconcile(parseInterfaces(drained), intended.state, new Set([...existing, 'bond1']));
  expect(last(d.commands, 'swp10')).toBe('down');
  // still enslaved to the bond (leaving must not need to rebuild it)
  expect(d.state.masters.swp10).toBe('bond1');
  const back = planReconcile(parseInterfaces(files['leaf3.interfaces']), d.state, new Set([...existing, 'bond1']));
  expect(last(back.commands, 'swp10')).toBe('up');
});
