// The DHCP fuzzer's sending end, run as a process inside the fuzz namespace (see
// dhcp-netns.ts): sends FUZZ_CASES packets from dhcpFuzzPackets(FUZZ_SEED) to FUZZ_TARGET:67
// (one in ten to the broadcast address), in bursts of 32 with a pause between, then a marker
// DISCOVER from a reserved MAC until the server's OFFER for it comes back: the server handles
// packets in order, so the answer means every fuzz packet before it was handled (or dropped by
// the bounded queue, which the server counts). Prints one JSON line with what it sent.
import dgram from 'node:dgram';
import { dhcpFuzzPackets } from './dhcp-gen';
import { decode, encode, messageType, MSG, OPT } from '../../src/discovery/dhcp/packet';

export const MARKER_MAC = '02:00:00:79:ff:ff';

async function main(): Promise<void> {
  const target = process.env.FUZZ_TARGET!;
  const cases = Number(process.env.FUZZ_CASES);
  const seed = Number(process.env.FUZZ_SEED);
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((r) => sock.bind(68, '0.0.0.0', () => r()));
  sock.setBroadcast(true);
  const send = (b: Buffer, to: string): Promise<void> => new Promise((r) => sock.send(b, 67, to, () => r()));
  const perMutation: Record<string, number> = {};
  const t0 = Date.now();
  let i = 0;
  for (const c of dhcpFuzzPackets(seed, cases)) {
    perMutation[c.mutation] = (perMutation[c.mutation] ?? 0) + 1;
    await send(c.bytes, i % 10 === 9 ? '255.255.255.255' : target);
    if (++i % 32 === 0) await new Promise((r) => setTimeout(r, 4));
  }
  const sendMs = Date.now() - t0;
  // the marker: answered in order after everything above
  const xid = 0x4d41524b;
  const marker = encode({
    op: 1, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: 0x8000, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: '0.0.0.0', chaddr: MARKER_MAC, sname: '', file: '', options: new Map([[OPT.messageType, Buffer.from([MSG.DISCOVER])]]),
  });
  const answered = new Promise<void>((resolve) => sock.on('message', (m) => {
    try {
      const p = decode(m);
      if (p.xid === xid && messageType(p) === MSG.OFFER) resolve();
    } catch { /* other replies */ }
  }));
  let markers = 0;
  let drained = false;
  while (!drained && markers < 60) {
    markers++;
    await send(marker, target);
    drained = await Promise.race([answered.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
  }
  process.stdout.write(`${JSON.stringify({ sent: i, markers, drained, sendMs, drainedMs: Date.now() - t0, perMutation })}\n`);
  sock.close();
}

if (require.main === module || process.env.FUZZ_SENDER === '1') {
  main().catch((e: Error) => { process.stderr.write(`sender: ${e.stack}\n`); process.exit(1); });
}
