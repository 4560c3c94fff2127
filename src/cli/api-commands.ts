// The hand-written service commands: what plain REST does not do well (a fabric file, text
// configs, a progress bar, a token shown once). Every other operation is generated from the
// command table (generated.ts); a name here wins over the generated one.
// Errors: one line per problem, non-zero exit (main.ts prints them).
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ApiClient, clientOptionsFromEnv } from './api-client';
import { formatReply, formatTable, withOutput, type OutputFormat } from './output';
import { endOf, follow, logLine, type JobView } from './watch';
import { readBodyFile } from './generated';

const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);

export function registerApiCommands(program: Command, ctx: CliContext): void {
  const api = () => new ApiClient(clientOptionsFromEnv(ctx.env));
  /** A read's reply: table rows as given, or the reply as it came for json/yaml. */
  const show = (o: { output: OutputFormat }, reply: unknown, rows?: Record<string, unknown>[], cols?: string[]) =>
    ctx.out(o.output === 'table' && rows ? formatTable(rows, cols) : formatReply(reply, o.output, cols));

  // ------------------------------------------------------------------ fabrics
  const fabrics = program.command('fabrics').description('fabrics on the service (FABRIC_API_URL, FABRIC_TOKEN)');
  withOutput(fabrics.command('list').description('list fabrics')).action(async (o: { output: OutputFormat }) => {
    const r = await api().request<{ items: Record<string, unknown>[] }>('GET', '/fabrics');
    show(o, r, r.items.map((f) => ({ ...f, overlayAsn: (f.namespaces as { overlayAsn?: number } | undefined)?.overlayAsn })), ['name', 'overlayAsn', 'createdAt']);
  });
  fabrics.command('create').argument('<file>', 'fabric file (YAML or JSON)').description('create a fabric from a fabric file')
    .action(async (file: string) => {
      const doc = readBodyFile(file);
      const r = await api().request<{ name: string }>('POST', '/fabrics', doc);
      ctx.out(`created fabric ${r.name}\n`);
    });
  withOutput(fabrics.command('show').argument('<name>').description('show a fabric (no secrets)'), 'json').action(async (name: string, o: { output: OutputFormat }) => {
    show(o, await api().request('GET', `/fabrics/${encodeURIComponent(name)}`));
  });
  fabrics.command('delete').argument('<name>').description('delete a fabric').action(async (name: string) => {
    await api().request('DELETE', `/fabrics/${encodeURIComponent(name)}`);
    ctx.out(`deleted fabric ${name}\n`);
  });

  // ------------------------------------------------------------------ devices, roles, links
  const devices = program.command('devices').description('devices of a fabric');
  withOutput(devices.command('list').argument('<fabric>').option('--json', 'the same as --output json').description('list devices'))
    .action(async (fabric: string, o: { json?: boolean; output: OutputFormat }) => {
      const r = await api().request<{ items: Record<string, unknown>[] }>('GET', `/fabrics/${encodeURIComponent(fabric)}/devices`);
      if (o.json) return show({ output: 'json' }, r.items);
      show(o, r, r.items, ['name', 'serial', 'profile', 'managementIp', 'physicalRole', 'roles', 'managedState', 'onboardingState']);
    });
  // Table output of a config is the config's text (a table of one long cell helps nobody).
  withOutput(devices.command('config').argument('<fabric>').argument('<device>').description("print a device's intended config"))
    .action(async (fabric: string, device: string, o: { output: OutputFormat }) => {
      const r = await api().request<{ platform: string; files: Record<string, string> }>('GET', `/fabrics/${encodeURIComponent(fabric)}/devices/${encodeURIComponent(device)}/config`);
      if (o.output !== 'table') return show(o, r);
      for (const [name, text] of Object.entries(r.files)) ctx.out(`# ${name} (${r.platform})\n${text}${text.endsWith('\n') ? '' : '\n'}`);
    });
  withOutput(program.command('links').description('links of a fabric').command('list').argument('<fabric>').description('list links'))
    .action(async (fabric: string, o: { output: OutputFormat }) => {
      const r = await api().request<{ items: { a: { device: string; port: string }; b: { device: string; port: string }; subnet?: string; anomaly?: string }[] }>('GET', `/fabrics/${encodeURIComponent(fabric)}/links`);
      show(o, r, r.items.map((l) => ({ a: `${l.a.device}:${l.a.port}`, b: `${l.b.device}:${l.b.port}`, subnet: l.subnet, anomaly: l.anomaly })), ['a', 'b', 'subnet', 'anomaly']);
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

  const jobs = program.command('jobs').description('jobs: list, show, watch (live), logs, cancel');
  const watch = (id: string, o: { timeout: string; poll?: boolean; quiet?: boolean }) =>
    follow(api(), ctx, id, { timeoutS: Number(o.timeout), poll: o.poll, quietLog: o.quiet }).then(endOf);
  jobs.command('watch').argument('<id>')
    .option('--timeout <s>', 'give up following after this many seconds (the job keeps running)', '3600')
    .option('--poll', 'poll the job instead of reading its live stream')
    .option('--quiet', 'progress only, no log lines')
    .description('follow a job live (the service\'s event stream): progress bar on stderr, log lines on stdout; exit 0 only if it succeeds')
    .action(watch);
  withOutput(jobs.command('show').argument('<id>')
    .option('--follow', 'the same as `jobs watch`')
    .option('--timeout <s>', 'with --follow: give up after this many seconds', '3600')
    .description('show a job (state, progress, devices, log)'))
    .action(async (id: string, o: { follow?: boolean; timeout: string; output: OutputFormat }) => {
      if (o.follow) return watch(id, o);
      const j = await api().request<JobView>('GET', `/jobs/${encodeURIComponent(id)}`);
      if (o.output !== 'table') return show(o, j);
      ctx.out(`job ${j.id} (${j.type}): ${j.state} ${j.progress}%${j.error ? `: ${j.error}` : ''}\n`);
      const rows = Object.entries(j.devices).map(([device, d]) => ({ device, state: d.state, error: d.error }));
      if (rows.length) ctx.out(formatTable(rows, ['device', 'state', 'error']));
      for (const l of j.log) ctx.out(logLine(l));
    });
  withOutput(jobs.command('logs').argument('<id>')
    .option('--device <name>', 'only the lines of this device')
    .option('--limit <n>', 'at most this many lines (the newest)', '5000')
    .description("a job's log lines (time, device, message)"))
    .action(async (id: string, o: { device?: string; limit: string; output: OutputFormat }) => {
      const j = await api().request<JobView>('GET', `/jobs/${encodeURIComponent(id)}?logLimit=${encodeURIComponent(o.limit)}`);
      const lines = o.device ? j.log.filter((l) => l.device === o.device) : j.log;
      if (o.output !== 'table') return show(o, lines);
      for (const l of lines) ctx.out(logLine(l));
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
  withOutput(tokens.command('list').description('list tokens (ids and roles)')).action(async (o: { output: OutputFormat }) => {
    const r = await api().request<{ items: Record<string, unknown>[] }>('GET', '/tokens');
    show(o, r, r.items, ['id', 'role', 'name', 'createdAt']);
  });
  tokens.command('revoke').argument('<id>').description('revoke a token').action(async (id: string) => {
    await api().request('DELETE', `/tokens/${encodeURIComponent(id)}`);
    ctx.out(`revoked token ${id}\n`);
  });
}
