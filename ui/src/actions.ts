// What an operator can do to one device, as data: the device panel shows each action the
// role allows, and a day-2 action (maintenance, upgrade plan, RMA) is one more entry here
// with its API call in api.ts, once the service has it.
import { api } from './api';
import type { DeviceDetail, Role } from './types';

export interface DeviceAction {
  id: string;
  label: string;
  role: Role;
  description: string;
  /** asked before it runs (destructive or pushes config) */
  confirm?: string;
  /** hidden for devices it cannot apply to */
  available?(d: DeviceDetail): boolean;
  run(fabric: string, d: DeviceDetail): Promise<{ jobId?: string }>;
}

const planned = (d: DeviceDetail) => !!d.profile && !!d.physicalRole;

export const DEVICE_ACTIONS: DeviceAction[] = [
  {
    id: 'dry-run', label: 'Dry run', role: 'operator',
    description: 'Render this device and compare with its running config; nothing changes.',
    available: planned,
    run: (f, d) => api.autoconfigure(f, { dryRun: true, devices: [d.name] }),
  },
  {
    id: 'push', label: 'Push config', role: 'operator',
    description: 'Autoconfigure this device only: commit confirmed, verify, confirm or roll back.',
    confirm: 'Push the intended config to this device now?',
    available: planned,
    run: (f, d) => api.autoconfigure(f, { devices: [d.name] }),
  },
];
