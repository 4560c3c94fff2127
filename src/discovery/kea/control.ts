// Kea's control channel: one JSON command per connection on the unix socket of kea-dhcp4
// (`control-socket`), answered with {result, text, arguments} and the socket closed.
// Results: 0 success, 3 empty (nothing found); anything else is an error.
import net from 'node:net';

export interface KeaAnswer<T = Record<string, unknown>> { result: number; text?: string; arguments?: T }

export class KeaCommandError extends Error {}

export function keaCommand<T = Record<string, unknown>>(socket: string, command: string, args?: object, timeoutMs = 5000): Promise<KeaAnswer<T>> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { c.destroy(); reject(new KeaCommandError(`kea ${command}: no answer within ${timeoutMs} ms`)); }, timeoutMs);
    c.on('connect', () => c.write(JSON.stringify(args ? { command, arguments: args } : { command })));
    c.on('data', (d: Buffer) => {
      chunks.push(d);
      // Kea closes after its answer; parse as soon as the text is complete JSON
      try {
        const a = JSON.parse(Buffer.concat(chunks).toString('utf8')) as KeaAnswer<T> | KeaAnswer<T>[];
        clearTimeout(timer);
        c.end();
        settle(Array.isArray(a) ? a[0] : a);
      } catch { /* more to come */ }
    });
    c.on('error', (e) => { clearTimeout(timer); reject(new KeaCommandError(`kea ${command}: ${e.message}`)); });
    let done = false;
    const settle = (a: KeaAnswer<T>): void => {
      if (done) return;
      done = true;
      if (a.result !== 0 && a.result !== 3) reject(new KeaCommandError(`kea ${command}: ${a.text ?? `result ${a.result}`}`));
      else resolve(a);
    };
    c.on('end', () => {
      clearTimeout(timer);
      if (done) return;
      try { settle(JSON.parse(Buffer.concat(chunks).toString('utf8')) as KeaAnswer<T>); } catch {
        reject(new KeaCommandError(`kea ${command}: connection closed without a complete answer`));
      }
    });
  });
}

/** A lease as lease4-get-all lists it (Kea 2.2). */
export interface KeaLease {
  'ip-address': string;
  'hw-address'?: string;
  'client-id'?: string;
  'subnet-id': number;
  'valid-lft': number;
  cltt: number;
  state: number;
  hostname?: string;
}
