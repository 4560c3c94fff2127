// Linux + FRR (the twin's platform): frr.conf and ifupdown2 files through the device agent's
// NETCONF, RFC 6241 transactions. Data: node-profiles/platforms/frr.yaml; templates: templates/frr/.
import { RFC6241_COMMIT } from '../../netconf/flavours';
import type { PlatformModule } from '../types';
import { agentReadFacts } from './facts';
import { frrComparable, frrFilesFromCommit, frrLoad, frrReadRunning } from './config';
import { frrLayout } from './render';
import { frrConfigFacts } from './rules';
import { frrReadOperState } from './verify';
import { frrReadUnderlay } from './underlay';
import { frrAdoptedFiles } from './adopted';

export { NS_FRR } from './config';
export { FRR_SECTIONS, type FrrSection } from './render';
export { parseFrrState } from './verify';

export const frr: PlatformModule = {
  name: 'frr',
  layout: frrLayout,
  commit: RFC6241_COMMIT,
  // No `speaks`: the fallback platform, a device whose hello names no other (src/platforms/index.ts).
  load: frrLoad,
  readRunning: frrReadRunning,
  comparableIntended: frrComparable,
  filesFromCommit: frrFilesFromCommit,
  readOperState: frrReadOperState,
  // The device agent's facts (also what the scale simulator answers).
  readFacts: agentReadFacts,
  readUnderlay: frrReadUnderlay,
  adoptedFiles: frrAdoptedFiles,
  configFacts: frrConfigFacts,
  // The agent's bootstrap is JSON and carries the password as is (over the one-time URL).
  ztp: { contentType: 'application/json' },
};
