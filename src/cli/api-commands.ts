// The CLI's service commands: fabrics, devices, roles, onboard, autoconfigure, jobs (with a live
// progress bar on stderr), tokens. Errors: one line, non-zero exit (main.ts prints them).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { load as parseYaml } from 'js-yaml';
import type { CliContext } from './context';
import { ApiClient, clientOptionsFromEnv } from './api-client';

interface JobView {
  id: string; type: string; state: string; progress: number; error?: string; result?: unknown;
  steps: { name: string; state: string; device?: string }[];
  log: { at: string; message: string; device?: string }[];
  devices: Record<string, { state: string; error?: string }>;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function table(rows: Record<string, unknown>[], cols: string[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '-' : Array.isArray(v) ? (v.length ? v.join(',') : '-') : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n') + '\n';
}

function bar(p: number, width = 30): string {
  const n = Math.max(0, Math.min(width, Math.round((p / 100) * width)));
  return `[${'#'.repeat(n)}${'-'.repeat(width - n)}]`;
}

function summary(j: JobView): string {
  const running = j.steps.filter((s) => s.state === 'running' && s.device).map((s) => `${s.device}:${s.name}`);
  const failed = Object.values(j.devices).filter((d) => d.state === 'failed').length;
  return `${running.slice(0, 3).join(' ')}${running.length > 3 ? ` +${running.length - 3}` : ''}${failed ? `  failed ${failed}` : ''}`;
}

/**
 * Follows a job until it ends: a progress bar rewritten in place on stderr (a plain line per
 * change when stderr is not a terminal), the new log lines on stdout. Exit 0 only on success.
 */
async function follow(api: ApiClient, ctx: CliContext, id: string, opts: { timeoutS: number; intervalMs?: number; quietLog?: boolean }): Promise<JobView> {
  // On a terminal the bar is rewritten in place; otherwise (pipes, CI logs) one line per change.
  const tty = process.stderr.isTTY === true;
  const deadline = Date.now() + opts.timeoutS * 1000;
  let seen = 0;
  let last = '';
  for (;;) {
    const j = await api.request<JobView>('GET', `/jobs/${encodeURIComponent(id)}?logLimit=5000`);
    if (!opts.quietLog) {
      for (const l of j.log.slice(seen)) {
        if (tty) ctx.err('\r\x1b[K');
        ctx.out(`${l.at.slice(11, 19)} ${l.device ? `${l.device}: ` : ''}${l.message}\n`);
      }
      seen = j.log.length;
    }
    const line = `${bar(j.progress)} ${String(j.progress).padStart(3)}% ${j.state}  ${summary(j)}`.trimEnd();
    if (line !== last) {
      ctx.err(tty ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (FINAL.has(j.state)) {
      if (tty) ctx.err('\n');
      return j;
    }
    if (Date.now() > deadline) {
      if (tty) ctx.err('\n');
      throw new Error(`job ${id} still ${j.state} after ${opts.timeoutS} s (it keeps running; follow it with: fabric jobs show ${id} --follow)`);
    }
    await sleep(opts.intervalMs ?? 500);
  }
}

function endOf(j: JobView): void {
  if (j.state === 'succeeded') return;
  throw new Error(`job ${j.id} ${j.state}${j.error ? `: ${j.error}` : ''}`);
}

const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

export function registerApiCommands(program: Command, ctx: CliContext): void {
  const api = () => new ApiClient(clientOptionsFromEnv(ctx.env));
  const json = (v: unknown) => ctx.out(JSON.stringify(v, null, 2) + '\n');

  // ------------------------------------------------------------------ fabrics
  const fabrics = program.command('fabrics').description('fabrics on the service (FABRIC_API_URL, FABRIC_TOKEN)');
  fabrics.command('list').description('list fabrics').action(async () => {
    const r = await api().request<{ items: Record<string, unknown>[] }>('GET', '/fabrics');
    ctx.out(table(r.items.map((f) => ({ ...f, overlayAsn: (f.namespaces as { overlayAsn?: number }).overlayAsn })), ['name', 'overlayAsn', 'createdAt']));
  });
  fabrics.command('create').argument('<file>', 'fabric file (YAML or JSON)').description('create a fabric from a fabric file')
    .action(async (file: string) => {
      let doc: unknown;
      try { doc = parseYaml(await readFile(file, 'utf8')); } catch (e) { throw new Error(`${file}: ${(e as Error).message.split('\n')[0]}`); }
      const r = await api().request<{ name: string }>('POST', '/fabrics', doc);
      ctx.out(`created fabric ${r.name}\n`);
    });
  fabrics.command('show').argument('<name>').description('show a fabric (no secrets)').action(async (name: string) => {
    json(await api().request('GET', `/fabrics/${encodeURIComponent(name)}`));
  });
  fabrics.command('delete').argument('<name>').description('delete a fabric').action(async (name: string) => {
    await api().request('DELETE', `/fabrics/${encodeURIComponent(name)}`);
    ctx.out(`deleted fabric ${name}\n`);
  });

  // ------------------------------------------------------------------ devices, roles, links
  const devices = program.command('devices').description('devices of a fabric');
  devices.command('list').argument('<fabric>').option('--json', 'print JSON').description('list devices').action(async (fabric: string, o: { json?: boolean }) => {
    const r = await api().request<{ items: Record<string, unknown>[] }>('GET', `/fabrics/${encodeURIComponent(fabric)}/devices`);
    if (o.json) return json(r.items);
    ctx.out(table(r.items, ['name', 'serial', 'profile', 'managementIp', 'physicalRole', 'roles', 'managedState', 'osVersion', 'onboardingState']));
  });
  devices.command('config').argument('<fabric>').argument('<device>').description("print a device's intended config")
    .action(async (fabric: string, device: string) => {
      const r = await api().request<{ platform: string; files: Record<string, string> }>('GET', `/fabrics/${encodeURIComponent(fabric)}/devices/${encodeURIComponent(device)}/config`);
      for (const [name, text] of Object.entries(r.files)) ctx.out(`# ${name} (${r.platform})\n${text}${text.endsWith('\n') ? '' : '\n'}`);
    });
  program.command('links').description('links of a fabric').command('list').argument('<fabric>').action(async (fabric: string) => {
    const r = await api().request<{ items: { a: { device: string; port: string }; b: { device: string; port: string }; subnet?: string; anomaly?: string }[] }>('GET', `/fabrics/${encodeURIComponent(fabric)}/links`);
    ctx.out(table(r.items.map((l) => ({ a: `${l.a.device}:${l.a.port}`, b: `${l.b.device}:${l.b.port}`, subnet: l.subnet, anomaly: l.anomaly })), ['a', 'b', 'subnet', 'anomaly']));
  });

  const roles = program.command('roles').description('role assignment');
  roles.command('set').argument('<fabric>').argument('<device>')
    .requiredOption('--physical <role>', 'leaf | spine | superspine | gateway')
    .option('--roles <list>', 'routing/bridging roles, comma-separated (empty: lean)', '')
    .description('assign physical and routing/bridging roles')
    .action(async (fabric: string, device: string, o: { physical: string; roles: string }) => {
      const r = await api().request<{ name: string; physicalRole: string; roles: string[] }>('PUT',
        `/fabrics/${encodeURIComponent(fabric)}/devices/${encodeURIComponent(device)}/roles`, { physicalRole: o.physical, roles: list(o.roles) ?? [] });
      ctx.out(`${r.name}: ${r.physicalRole} ${r.roles.length ? r.roles.join(',') : '(lean)'}\n`);
    });

  // ------------------------------------------------------------------ jobs
  const waitOpts = (c: Command) => c
    .option('--wait', 'follow the job until it ends (progress on stderr); exit non-zero unless it succeeds')
    .option('--timeout <s>', 'with --wait: give up following after this many seconds', '3600');

  waitOpts(program.command('onboard').argument('<fabric>')
    .option('--mode <mode>', 'greenfield | brownfield', 'greenfield')
    .option('--expected <n>', 'expected device count')
    .option('--serials <list>', 'expected serial numbers, comma-separated')
    .option('--subnets <list>', 'brownfield: subnets to sweep, comma-separated')
    .option('--timeout-seconds <s>', 'onboarding timeout')
    .description('start onboarding (discovery) of a fabric'))
    .action(async (fabric: string, o: { mode: string; expected?: string; serials?: string; subnets?: string; timeoutSeconds?: string; wait?: boolean; timeout: string }) => {
      const body: Record<string, unknown> = { mode: o.mode };
      if (o.expected) body.expectedDevices = Number(o.expected);
      if (o.serials) body.serials = list(o.serials);
      if (o.subnets) body.subnets = list(o.subnets);
      if (o.timeoutSeconds) body.timeoutSeconds = Number(o.timeoutSeconds);
      const r = await api().request<{ jobId: string }>('POST', `/fabrics/${encodeURIComponent(fabric)}/onboard`, body);
      ctx.out(`job ${r.jobId}\n`);
      if (o.wait) endOf(await follow(api(), ctx, r.jobId, { timeoutS: Number(o.timeout) }));
    });

  waitOpts(program.command('autoconfigure').argument('<fabric>')
    .option('--dry-run', 'render and report, change nothing')
    .description('allocate, compile, render and push the whole fabric'))
    .action(async (fabric: string, o: { dryRun?: boolean; wait?: boolean; timeout: string }) => {
      const r = await api().request<{ jobId: string }>('POST', `/fabrics/${encodeURIComponent(fabric)}/autoconfigure`, { dryRun: o.dryRun === true });
      ctx.out(`job ${r.jobId}\n`);
      if (o.wait) endOf(await follow(api(), ctx, r.jobId, { timeoutS: Number(o.timeout) }));
    });

  // Day 2 (issue 15): rolling OS upgrade (--dry-run prints the plan) and maintenance mode.
  waitOpts(program.command('upgrade').argument('<fabric>').requiredOption('--image <name>', 'an image of GET /images')
    .option('--devices <names>', 'comma-separated: only these devices')
    .option('--max-parallel <n>', 'devices per batch at most', '1')
    .option('--dry-run', 'print the plan (batches in order, skipped devices), change nothing')
    .description('hitless rolling OS upgrade: leaves before spines, batch by batch'))
    .action(async (fabric: string, o: { image: string; devices?: string; maxParallel: string; dryRun?: boolean; wait?: boolean; timeout: string }) => {
      const body = { image: o.image, maxParallel: Number(o.maxParallel), ...(o.devices ? { devices: o.devices.split(',').filter(Boolean) } : {}), ...(o.dryRun ? { dryRun: true } : {}) };
      if (o.dryRun) {
        const p = await api().request<{ batches: { devices: string[]; reason: string }[]; skipped: { device: string; reason: string }[] }>('POST', `/fabrics/${encodeURIComponent(fabric)}/upgrade`, body);
        p.batches.forEach((b, i) => ctx.out(`batch ${i + 1}: ${b.devices.join(', ')}  (${b.reason})\n`));
        for (const x of p.skipped) ctx.out(`skipped ${x.device}: ${x.reason}\n`);
        return;
      }
      const r = await api().request<{ jobId: string }>('POST', `/fabrics/${encodeURIComponent(fabric)}/upgrade`, body);
      ctx.out(`job ${r.jobId}\n`);
      if (o.wait) endOf(await follow(api(), ctx, r.jobId, { timeoutS: Number(o.timeout) }));
    });
  waitOpts(program.command('maintenance').argument('<fabric>').argument('<device>').argument('<on|off>')
    .description('drain a device (BGP graceful shutdown) or return it'))
    .action(async (fabric: string, device: string, onOff: string, o: { wait?: boolean; timeout: string }) => {
      if (onOff !== 'on' && onOff !== 'off') throw new Error(`maintenance: expected on or off, got "${onOff}"`);
      const r = await api().request<{ jobId: string }>('POST', `/fabrics/${encodeURIComponent(fabric)}/devices/${encodeURIComponent(device)}/maintenance`, { enabled: onOff === 'on' });
      ctx.out(`job ${r.jobId}\n`);
      if (o.wait) endOf(await follow(api(), ctx, r.jobId, { timeoutS: Number(o.timeout) }));
    });

  const jobs = program.command('jobs').description('jobs');
  jobs.command('show').argument('<id>')
    .option('--follow', 'follow until the job ends, with a live progress bar')
    .option('--timeout <s>', 'with --follow: give up after this many seconds', '3600')
    .description('show a job (state, progress, devices, log)')
    .action(async (id: string, o: { follow?: boolean; timeout: string }) => {
      if (o.follow) return endOf(await follow(api(), ctx, id, { timeoutS: Number(o.timeout) }));
      const j = await api().request<JobView>('GET', `/jobs/${encodeURIComponent(id)}`);
      ctx.out(`job ${j.id} (${j.type}): ${j.state} ${j.progress}%${j.error ? `: ${j.error}` : ''}\n`);
      const rows = Object.entries(j.devices).map(([device, d]) => ({ device, state: d.state, error: d.error }));
      if (rows.length) ctx.out(table(rows, ['device', 'state', 'error']));
      for (const l of j.log) ctx.out(`${l.at.slice(11, 19)} ${l.device ? `${l.device}: ` : ''}${l.message}\n`);
    });
  jobs.command('cancel').argument('<id>').description('cancel a job').action(async (id: string) => {
    const j = await api().request<JobView>('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
    ctx.out(`job ${j.id}: cancel requested (${j.state})\n`);
  });

  // ------------------------------------------------------------------ tokens
  const tokens = program.command('tokens').description('API tokens (admin)');
  tokens.command('create').argument('<role>', 'viewer | operator | admin').option('--name <name>').description('create a token; prints it once')
    .action(async (role: string, o: { name?: string }) => {
      const r = await api().request<{ id: string; token: string }>('POST', '/tokens', { role, ...(o.name ? { name: o.name } : {}) });
      ctx.err(`token ${r.id} (${role}); it is shown only now:\n`);
      ctx.out(`${r.token}\n`);
    });
  tokens.command('list').description('list tokens (ids and roles)').action(async () => {
    const r = await api().request<{ items: Record<string, unknown>[] }>('GET', '/tokens');
    ctx.out(table(r.items, ['id', 'role', 'name', 'createdAt']));
  });
  tokens.command('revoke').argument('<id>').description('revoke a token').action(async (id: string) => {
    await api().request('DELETE', `/tokens/${encodeURIComponent(id)}`);
    ctx.out(`revoked token ${id}\n`);
  });
}
