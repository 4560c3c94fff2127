// A TCP relay on 127.0.0.1 in front of one NETCONF server, to break sessions the way networks do:
//  - cut():    both ends see the connection end at once (a reset link; the device ends the session);
//  - freeze(): a partition: nothing passes either way and neither end is told (the device keeps the
//              session, and its confirm timer is all that can roll a confirmed commit back);
//  - freeze('replies'): only the device's replies are lost (a request arrives, its answer does not).
// New connections after a freeze pass normally. close() destroys everything it holds.
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair { client: Socket; device: Socket; drop: 'none' | 'both' | 'replies' }

export interface TcpRelay {
  port: number;
  /** connections accepted so far */
  readonly accepted: number;
  /** connections currently open on both sides */
  open(): number;
  freeze(what?: 'both' | 'replies'): number;
  cut(): number;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<TcpRelay> {
  const pairs = new Set<Pair>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const device = connect(target.port, target.host);
    const pair: Pair = { client, device, drop: 'none' };
    pairs.add(pair);
    client.on('data', (d) => { if (pair.drop !== 'both') device.write(d); });
    device.on('data', (d) => { if (pair.drop === 'none') client.write(d); });
    // A frozen pair does not pass a close on: the other end must not learn of it.
    client.on('close', () => { if (pair.drop === 'none') device.destroy(); if (client.destroyed && device.destroyed) pairs.delete(pair); });
    device.on('close', () => { if (pair.drop === 'none') client.destroy(); if (client.destroyed && device.destroyed) pairs.delete(pair); });
    client.on('error', () => undefined);
    device.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const live = () => [...pairs].filter((p) => !p.client.destroyed && !p.device.destroyed);
  return {
    port,
    get accepted() { return accepted; },
    open: () => live().length,
    freeze(what = 'both') {
      const l = live();
      for (const p of l) p.drop = what;
      return l.length;
    },
    cut() {
      const n = live().length;
      for (const p of pairs) { p.drop = 'none'; p.client.destroy(); p.device.destroy(); }
      return n;
    },
    async close() {
      for (const p of pairs) { p.client.destroy(); p.device.destroy(); }
      pairs.clear();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
