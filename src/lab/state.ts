// What a lab records about itself, so `down` removes everything even after a crash:
//   <root>/<lab>/lab.json            backend, topology, options (written before anything is made)
//   <root>/<lab>/run/namespaces      one namespace per line, appended BEFORE it is created
//   <root>/<lab>/run/pids            "pid starttime node what" per line, appended right after a spawn
//   <root>/<lab>/run/<node>/         sockets, logs, daemon configs (removed by down)
//   <root>/<lab>/nodes/<node>/       what survives a reboot and down/up (SSH host key, agent state)
// Processes are killed by recorded pid only when /proc/<pid>/stat still shows the recorded start
// time (a reused pid is never hit).
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackendKind } from './backend';
import type { Topology } from './topology';

export interface LabRecord {
  name: string;
  backend: BackendKind;
  createdAt: string;
  preconfigured: boolean;
  topology: Topology;
  /** device -> management address, when known at up (preconfigured) */
  managementIps: Record<string, string>;
  /** Backend-specific data (the vm backend keeps its VM pid, tap, ...). */
  extra?: Record<string, unknown>;
}

export interface PidEntry { pid: number; start: string; node: string; what: string }

export function labRoot(root?: string): string {
  return resolve(root ?? process.env.LAB_DIR ?? '.lab');
}

export class LabPaths {
  readonly dir: string;
  constructor(public readonly name: string, root?: string) {
    this.dir = join(labRoot(root), name);
  }
  get record(): string { return join(this.dir, 'lab.json'); }
  get runDir(): string { return join(this.dir, 'run'); }
  get nsFile(): string { return join(this.runDir, 'namespaces'); }
  get pidFile(): string { return join(this.runDir, 'pids'); }
  nodeRun(node: string): string { return join(this.runDir, node); }
  nodeState(node: string): string { return join(this.dir, 'nodes', node); }
}

export function ensureDir(d: string, mode = 0o755): string {
  mkdirSync(d, { recursive: true, mode });
  return d;
}

export function writeRecord(p: LabPaths, rec: LabRecord): void {
  ensureDir(p.dir);
  writeFileSync(p.record + '.tmp', JSON.stringify(rec, null, 2), { mode: 0o600 });
  // rename is atomic: a crash never leaves half a record
  renameSync(p.record + '.tmp', p.record);
}

export function readRecord(p: LabPaths): LabRecord | undefined {
  if (!existsSync(p.record)) return undefined;
  return JSON.parse(readFileSync(p.record, 'utf8')) as LabRecord;
}

export function recordNamespace(p: LabPaths, ns: string): void {
  ensureDir(p.runDir);
  appendFileSync(p.nsFile, ns + '\n');
}

export function recordedNamespaces(p: LabPaths): string[] {
  if (!existsSync(p.nsFile)) return [];
  return [...new Set(readFileSync(p.nsFile, 'utf8').split('\n').filter(Boolean))];
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or undefined when it is gone. */
export function procStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces: split after its closing parenthesis
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Appends a pid line to a lab pid file (used by `up` and by agents inside namespaces). */
export function recordPidTo(pidFile: string, pid: number, node: string, what: string): void {
  const start = procStart(pid) ?? '?';
  appendFileSync(pidFile, `${pid} ${start} ${node} ${what}\n`);
}

export function recordedPids(pidFile: string): PidEntry[] {
  if (!existsSync(pidFile)) return [];
  const out: PidEntry[] = [];
  for (const line of readFileSync(pidFile, 'utf8').split('\n')) {
    const [pid, start, node, ...what] = line.trim().split(' ');
    if (!pid || !/^\d+$/.test(pid)) continue;
    out.push({ pid: Number(pid), start, node, what: what.join(' ') });
  }
  return out;
}

/** True when the recorded process is still the one we started. */
export function isAlive(e: PidEntry): boolean {
  const s = procStart(e.pid);
  return s !== undefined && (e.start === '?' || s === e.start);
}

/** SIGTERM every live recorded process, then SIGKILL what is left after graceMs. */
export async function killRecorded(entries: PidEntry[], graceMs = 3000): Promise<number> {
  const live = entries.filter(isAlive);
  for (const e of live) {
    try { process.kill(e.pid, 'SIGTERM'); } catch { /* gone */ }
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end && live.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
  for (const e of live.filter(isAlive)) {
    try { process.kill(e.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const end2 = Date.now() + 2000;
  while (Date.now() < end2 && live.some(isAlive)) await new Promise((r) => setTimeout(r, 50));
  return live.length;
}
