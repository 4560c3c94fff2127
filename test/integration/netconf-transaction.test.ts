/**
 * pushConfig edge cases against the server core (RFC flavour): dry run, no changes, lock held
 * elsewhere, load / commit failures, verify failure with cancel-commit, the session dying
 * after the confirmed commit (rollback left to the device).
 */
import { NetconfServer, NetconfDevice, DeviceEvent, generateHostKey, staticUsers } from '../../src/lab/netconf-server';
import { NetconfClient } from '../../src/netconf/client';
import { NetconfRpcError } from '../../src/netconf/errors';
import { pushConfig, TransactionError, TransactionStep, junosConfirmMinutes } from '../../src/netconf/transaction';

async function failure<E = TransactionError>(p: Promise<unknown>): Promise<E> {
  return p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as E,
  );
}

const HOST = (h: string) => `<system xmlns="urn:s"><hostname>${h}</hostname></system>`;

describe('pushConfig against the server core', () => {
  const server = new NetconfServer({ hostKeys: [generateHostKey().private], authenticate: staticUsers([{ username: 'u', password: 'p' }]) });
  let dev: NetconfDevice;
  let port = 0;
  let refuse = false;
  const events: DeviceEvent[] = [];
  beforeAll(async () => {
    dev = new NetconfDevice({
      id: 'leaf1',
      running: HOST('leaf1'),
      hooks: {
        apply: (cfg) => {
          if (refuse && !cfg.includes('leaf1<')) throw new Error('apply refused');
        },
      },
    });
    dev.on('event', (e: DeviceEvent) => events.push(e));
    port = (await server.listen(dev)).port;
  });
  afterAll(async () => {
    await server.close();
    dev.dispose();
  });
  beforeEach(() => {
    refuse = false;
    events.length = 0;
  });
  afterEach(() => {
    expect(dev.locks).toEqual({});
    expect(dev.pending).toBeUndefined();
  });

  const connect = () => NetconfClient.connect({ host: '127.0.0.1', port, deviceId: 'leaf1', username: 'u', password: 'p' });
  const diffOf = async (c: NetconfClient) => ((await c.getConfig('candidate')) === (await c.getConfig('running')) ? '' : 'changed');
  const load = (h: string) => (c: NetconfClient) => c.editConfig({ config: HOST(h) }).then(() => undefined);
  const names = (steps: TransactionStep[]) => steps.map((s) => `${s.name}:${s.state}`);

  it('happy path, closing the session at the end', async () => {
    const c = await connect();
    const res = await pushConfig({ client: c, load: load('leaf1-a'), computeDiff: diffOf, verify: async () => undefined, confirmTimeoutSeconds: 60 });
    expect(res).toMatchObject({ committed: true, diff: 'changed' });
    expect(names(res.steps)).toEqual(['lock:ok', 'load:ok', 'validate:ok', 'diff:ok', 'commit-confirmed:ok', 'verify:ok', 'confirm:ok', 'unlock:ok']);
    expect(dev.running).toBe(HOST('leaf1-a'));
    expect(events.filter((e) => e.type === 'commit').map((e) => (e as { confirmed: boolean }).confirmed)).toEqual([true, false]);
    expect(c.isOpen).toBe(false);
  });

  it('dry run: the diff comes back, nothing is committed, the candidate is discarded', async () => {
    const c = await connect();
    const before = dev.running;
    const res = await pushConfig({ client: c, load: load('dry'), computeDiff: diffOf, confirmTimeoutSeconds: 60, dryRun: true });
    expect(res).toMatchObject({ committed: false, diff: 'changed' });
    expect(names(res.steps)).toEqual(['lock:ok', 'load:ok', 'validate:ok', 'diff:ok', 'discard:ok', 'unlock:ok']);
    expect(res.steps[4].detail).toBe('dry run');
    expect(dev.running).toBe(before);
    expect(dev.candidate).toBe(before);
    expect(events.some((e) => e.type === 'commit')).toBe(false);
  });

  it('no changes: nothing is committed', async () => {
    const c = await connect();
    const res = await pushConfig({ client: c, load: async () => undefined, computeDiff: diffOf, confirmTimeoutSeconds: 60 });
    expect(res).toMatchObject({ committed: false, diff: '' });
    expect(res.steps.find((s) => s.name === 'discard')?.detail).toBe('no changes');
    expect(events.some((e) => e.type === 'commit')).toBe(false);
  });

  it('lock held by another session: fails at lock, running unchanged', async () => {
    const other = await connect();
    await other.lock('candidate');
    const c = await connect();
    const err = await failure(pushConfig({ client: c, load: load('x'), computeDiff: diffOf, confirmTimeoutSeconds: 60 }));
    expect(err.step).toBe('lock');
    expect(err.cause).toBeInstanceOf(NetconfRpcError);
    expect(err.message).toMatch(/^leaf1 \(127\.0\.0\.1:\d+\): lock failed: lock failed: lock-denied \(protocol\): candidate is already locked by session \d+; running unchanged$/);
    expect(names(err.result.steps)).toEqual(['lock:failed']);
    await other.close();
  });

  it('load failure: candidate discarded, unlocked', async () => {
    const c = await connect();
    const err = await failure(
      pushConfig({
        client: c,
        load: (cl) => cl.editConfig({ config: '<system xmlns="urn:s" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><nope nc:operation="delete"/></system>' }).then(() => undefined),
        confirmTimeoutSeconds: 60,
      }),
    );
    expect(err.step).toBe('load');
    expect(err.result.rolledBack).toBe('discard');
    expect(names(err.result.steps)).toEqual(['lock:ok', 'load:failed', 'discard:ok', 'unlock:ok']);
    expect(err.message).toMatch(/load failed: edit-config failed: data-missing .*; candidate discarded, running unchanged$/);
  });

  it('the device refusing the confirmed commit: discard, running unchanged', async () => {
    refuse = true;
    const c = await connect();
    const err = await failure(pushConfig({ client: c, load: load('refused'), computeDiff: diffOf, confirmTimeoutSeconds: 60 }));
    expect(err.step).toBe('commit-confirmed');
    expect(err.result.rolledBack).toBe('discard');
    expect(dev.running).not.toContain('refused');
    expect(dev.candidate).toBe(dev.running);
  });

  it('verify failure after the confirmed commit: cancel-commit restores running through apply', async () => {
    const c = await connect();
    const before = dev.running;
    const err = await failure(
      pushConfig({
        client: c,
        load: load('verify-fails'),
        computeDiff: diffOf,
        verify: async () => {
          expect(dev.running).toContain('verify-fails'); // the change was live when verify ran
          throw new Error('BGP 0/4 established');
        },
        confirmTimeoutSeconds: 60,
      }),
    );
    expect(err.step).toBe('verify');
    expect(err.result.rolledBack).toBe('cancel-commit');
    expect(dev.running).toBe(before);
    expect(events.find((e) => e.type === 'rollback')).toMatchObject({ reason: 'cancel-commit', config: before });
  });

  it('session killed during verify: rollback is left to the device, which restores on session end', async () => {
    const c = await connect();
    const killer = await connect();
    const before = dev.running;
    const err = await failure(
      pushConfig({
        client: c,
        load: load('killed'),
        computeDiff: diffOf,
        verify: async (cl) => {
          await killer.killSession(cl.sessionId); // the fault hits after the confirmed commit
          await cl.closed;
          throw new Error('lost the device');
        },
        confirmTimeoutSeconds: 60,
      }),
    );
    expect(err.step).toBe('verify');
    expect(err.result.rolledBack).toBe('timer');
    expect(names(err.result.steps).slice(-3)).toEqual(['verify:failed', 'rollback:skipped', 'unlock:skipped']); // the session is gone
    expect(err.message).toMatch(/rollback left to the device/);
    // the server rolled back when the issuing session ended
    for (let i = 0; i < 100 && dev.running !== before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(dev.running).toBe(before);
    expect(events.find((e) => e.type === 'rollback')).toMatchObject({ reason: 'session-end' });
    await killer.close();
  });

  it('Junos minutes: ceil(seconds / 60), at least 1', () => {
    expect([1, 59, 60, 61, 600].map(junosConfirmMinutes)).toEqual([1, 1, 1, 2, 10]);
  });
});
