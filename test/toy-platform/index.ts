// A minimal third platform for tests: one line-based file per device, the features' outputs in
// plan order. Its config travels as text in an RFC 6241 datastore (<toy xmlns="urn:test:toy">).
import * as path from 'node:path';
import { RFC6241_COMMIT } from '../../src/netconf/flavours';
import { escapeText, findAll, parseFragment, textOf } from '../../src/netconf/xml';
import type { PlatformModule } from '../../src/platforms';
import { agentReadFacts } from '../../src/platforms/frr/facts';

export const TOY_DIR = __dirname;
export const TOY_PROFILES = path.join(__dirname, 'node-profiles');
const NS = 'urn:test:toy';
const file = (device: string) => `${device}.toy`;

export const toy: PlatformModule = {
  name: 'toy',
  templateDir: path.join(__dirname, 'templates'),
  layout: (plan, outputs, host) => ({ [file(plan.name)]: host.render('toy/_config.njk', { p: plan, parts: outputs.map((o) => o.text.trimEnd()) }) }),
  commit: RFC6241_COMMIT,
  speaks: (c) => c.hasCapability(NS),
  load: async (c, device, files) => {
    await c.editConfig({ target: 'candidate', config: `<toy xmlns="${NS}">${escapeText(files[file(device)] ?? '')}</toy>`, defaultOperation: 'replace' });
  },
  readRunning: async (c, device) => ({ [file(device)]: textOf(findAll(parseFragment(await c.getConfig('running', `<toy xmlns="${NS}"/>`)), 'toy')[0]) }),
  comparableIntended: (device, files) => ({ [file(device)]: files[file(device)] ?? '' }),
  filesFromCommit: (device, text) => ({ [file(device)]: text }),
  // No operational state to read: the toy never runs, so a verify of it fails every check.
  readOperState: async () => ({ bgp: [], routes: [] }),
  // Discovery as the device agent answers it.
  readFacts: agentReadFacts,
  ztp: { contentType: 'text/plain', passwordForm: 'sha512-crypt' },
};
