// The cached VM image (scripts/vm-image.sh builds it once per package list; see docs/twin-vm.md).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface VmImage {
  dir: string;
  kernel: string;
  initrd: string;
  disk: string;
  /** Directory name: the hash of build script + package list + node binary. */
  key: string;
  /** True when this call built it (false: it was cached). */
  built: boolean;
  /** Build time in seconds as recorded by the build (cached or not). */
  buildSeconds?: number;
  kernelVersion?: string;
}

/** The repository this code runs from (the directory holding package.json). */
export function repoRoot(): string {
  let d = resolve(__dirname);
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'scripts', 'vm-image.sh'))) return d;
    d = resolve(d, '..');
  }
  if (existsSync(join(process.cwd(), 'scripts', 'vm-image.sh'))) return process.cwd();
  throw new Error(`vm: cannot find the repository root (package.json + scripts/vm-image.sh) above ${__dirname}`);
}

export function imageCacheDir(): string {
  return process.env.FABRIC_VM_CACHE ?? '/var/cache/fabric-twin';
}

function describe(dir: string, built: boolean): VmImage {
  const info: Record<string, string> = {};
  const infoFile = join(dir, 'info');
  if (existsSync(infoFile)) {
    for (const line of readFileSync(infoFile, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) info[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return {
    dir,
    // uncompressed (PVH entry) when the build could make it: boots ~20 s sooner under TCG
    kernel: existsSync(join(dir, 'vmlinux')) ? join(dir, 'vmlinux') : join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    disk: join(dir, 'root.ext4'),
    key: dir.split('/').pop() ?? dir,
    built,
    buildSeconds: info.seconds ? Number(info.seconds) : undefined,
    kernelVersion: info.kernel,
  };
}

/**
 * Returns the image, building it first when the cache has none for the current package list
 * (minutes: debootstrap + apt). Build progress lines go to `log`.
 */
export function ensureImage(opts: { log?: (line: string) => void; timeoutMs?: number } = {}): Promise<VmImage> {
  const script = join(repoRoot(), 'scripts', 'vm-image.sh');
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn('bash', [script, '--print-dir'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let building = false;
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 20 * 60_000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n').filter(Boolean)) {
        building = true;
        opts.log?.(line);
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`vm image: cannot run ${script}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const dir = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !dir || !existsSync(join(dir, 'ready'))) {
        const why = err.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`;
        reject(new Error(`vm image: build failed after ${Math.round((Date.now() - started) / 1000)} s: ${why}`));
        return;
      }
      resolvePromise(describe(dir, building));
    });
  });
}
