// The roles a node profile offers a device, for the role form (a choice, not free text).
import { PHYSICAL_ROLES, ROUTING_ROLES } from '../../src/domain/types';
import type { NodeProfile } from './types';

/** What a node profile allows (`role@physical`, `*` in either half, `null` = lean). Pure. */
export function allowedRoles(profile: NodeProfile | undefined, physical: string): { physicals: string[]; roles: string[]; lean: boolean } {
  const entries = (profile?.roles ?? ['*@*']).map((r) => { const at = r.indexOf('@'); return { role: r.slice(0, at), phys: r.slice(at + 1) }; });
  const physicals = PHYSICAL_ROLES.filter((p) => entries.some((e) => e.phys === '*' || e.phys === p));
  const here = entries.filter((e) => e.phys === '*' || e.phys === physical);
  const roles = here.some((e) => e.role === '*') ? [...ROUTING_ROLES] : ROUTING_ROLES.filter((r) => here.some((e) => e.role === r));
  return { physicals, roles, lean: here.some((e) => e.role === '*' || e.role === 'null') };
}
