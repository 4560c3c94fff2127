// The queue bench's job type, `bench-trivial`: one device step that does nothing, so what is
// timed is the job system's own cost per device (BullMQ child, record writes, events). Loaded
// in-process by bench/queue.ts and by worker processes through FABRIC_JOB_PLUGINS.
import type { JobTypes } from '../src/jobs';

export const BENCH_TYPE = 'bench-trivial';

export function registerJobTypes(types: JobTypes): void {
  if (types.get(BENCH_TYPE)) return;
  types.register<{ n: number }>({
    type: BENCH_TYPE, queue: 'autoconfigure', fabricLock: true,
    deviceSteps: [{ name: 'noop', weight: 1 }],
    plan: async (ctx) => ({ devices: Array.from({ length: ctx.params.n }, (_, i) => ({ device: `d${i}` })) }),
    runDevice: async () => undefined,
  });
}
