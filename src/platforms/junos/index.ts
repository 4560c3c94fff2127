// Junos (QFX, MX): XML configuration groups over NETCONF with Juniper's RPCs. Data:
// node-profiles/platforms/junos.yaml; templates: templates/junos/.
import { JUNOS_COMMIT } from '../../netconf/flavours';
import type { PlatformModule } from '../types';
import { junosReadFacts } from './facts';
import { junosComparable, junosFilesFromCommit, junosLoad, junosReadRunning } from './config';
import { junosLayout } from './render';
import { junosConfigFacts } from './rules';
import { junosReadOperState } from './verify';
import { junosReadUnderlay } from './underlay';
import { junosRunsOverlayEcmp, withoutOverlayEcmp } from './overlay-ecmp';
import { junosAdoptedFiles } from './adopted';

export { JUNOS_GROUP_PREFIX, junosGroupName } from './render';
export { junosLoad } from './config';
export { parseJunosBfd, parseJunosBgpSummary, parseJunosRoutes } from './verify';

export const junos: PlatformModule = {
  name: 'junos',
  layout: junosLayout,
  commit: JUNOS_COMMIT,
  speaks: (c) => JUNOS_COMMIT.offeredBy(c),
  load: junosLoad,
  readRunning: junosReadRunning,
  comparableIntended: junosComparable,
  filesFromCommit: junosFilesFromCommit,
  readOperState: junosReadOperState,
  readFacts: junosReadFacts,
  readUnderlay: (c) => junosReadUnderlay(c),
  overlayEcmp: { runs: junosRunsOverlayEcmp, without: withoutOverlayEcmp },
  adoptedFiles: junosAdoptedFiles,
  configFacts: junosConfigFacts,
  // Junos takes the password as a crypt hash in its `encrypted-password`.
  ztp: {
    contentType: 'text/plain',
    passwordForm: 'sha512-crypt',
    dhcpClient: (id) => /^juniper$/i.test(id.vendor ?? '') || /^juniper/i.test(id.vendorClass ?? ''),
    dhcpOptions: 'juniper',
  },
};
