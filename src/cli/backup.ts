// `fabric backup FILE` and `fabric restore FILE [--force]` (admin token): the whole store as one
// file, through the service's API (GET /backup, POST /restore). The file holds encrypted secrets
// and token hashes: it is written 0600.
import { readFile, rename, writeFile, chmod } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ApiClient, clientOptionsFromEnv } from './api-client';

/** A whole store can take a while to read and to send. */
const TIMEOUT_MS = 10 * 60_000;

interface Counts { fabrics: number; devices: number; links: number; hostKeys: number; configCommits: number; events: number; tokens: number }
const countsText = (c: Counts) =>
  `${c.fabrics} fabrics, ${c.devices} devices, ${c.links} links, ${c.hostKeys} host keys, ${c.configCommits} config commits, ${c.events} events, ${c.tokens} tokens`;

export function registerBackupCommands(program: Command, ctx: CliContext): void {
  const api = () => new ApiClient({ ...clientOptionsFromEnv(ctx.env), timeoutMs: TIMEOUT_MS });

  program.command('backup').argument('<file>', 'backup file to write (JSON)')
    .description('write the whole store to one versioned file (admin; secrets stay encrypted, the store key is not in it)')
    .action(async (file: string) => {
      const b = await api().request<{ counts: Counts }>('GET', '/backup');
      // Written aside and renamed: an interrupted backup never leaves a half file under the name.
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(b)}\n`, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, file);
      ctx.out(`wrote ${file}: ${countsText(b.counts)}\n`);
    });

  program.command('restore').argument('<file>', 'backup file made by `fabric backup`')
    .option('--force', 'replace a store that is not empty')
    .description('restore a backup into the service\'s store (admin; refused over a non-empty store unless --force)')
    .action(async (file: string, o: { force?: boolean }) => {
      let body: unknown;
      try {
        body = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        throw new Error(`${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a JSON backup file (${(e as Error).message.split('\n')[0]})`}`);
      }
      const r = await api().request<{ counts: Counts; replaced: boolean; migrated: string[] }>('POST', `/restore${o.force ? '?force=true' : ''}`, body);
      ctx.out(`restored ${file}${r.replaced ? ' (replaced the store)' : ''}: ${countsText(r.counts)}\n`);
      for (const m of r.migrated) ctx.err(`note: migrated ${m}\n`);
    });
}
