// Junos render layout: each feature renders the body of one configuration group the service
// owns (`__fabric_<feature>__`, replace="replace"), applied with <apply-groups>; the skeleton
// junos/_configuration.njk wraps them into one <configuration>.
import type { DevicePlan, Feature } from '../../domain/types';
import { stripBlankEdges } from '../layout';
import type { FeatureOutput, TemplateHost } from '../types';

/**
 * Every Junos configuration group the service owns starts with this prefix. A push merges the
 * rendered groups (replace="replace"); a group the device has but the new config lacks (a
 * feature that went away) is stale, and the push deletes it with its apply-groups entry.
 */
export const JUNOS_GROUP_PREFIX = '__fabric_';

/** Junos configuration group owned by the service for a feature. */
export function junosGroupName(feature: Feature): string {
  return `${JUNOS_GROUP_PREFIX}${feature}__`;
}

export function junosLayout(plan: DevicePlan, outputs: FeatureOutput[], host: TemplateHost): Record<string, string> {
  const groups: { name: string; body: string }[] = [];
  for (const o of outputs) {
    const body = stripBlankEdges(o.text);
    if (body !== '') groups.push({ name: junosGroupName(o.feature), body });
  }
  return { [`${plan.name}.xml`]: host.render('junos/_configuration.njk', { p: plan, groups }) };
}
