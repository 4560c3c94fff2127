// Loaded by src/jobs/runtime.ts (OPTIONAL_TYPE_MODULES): registers the `onboard` job type.
import { registerJobType, getJobType } from '../jobs/registry';
import { onboardJob } from './onboard';

export function registerJobTypes(): void {
  if (!getJobType('onboard')) registerJobType(onboardJob);
}
