// Platforms (docs/platforms.md): the registry of platform modules, rendering a device through
// its platform, and the interface each platform implements.
export {
  fallbackPlatform, findPlatform, platformModule, platformNames, platformOfDhcpClient, platformOfSession,
  platformsPerDhcpForm, registerPlatform, unregisterPlatform,
} from './registry';
export { checkRenderedFabric, formatFinding, RULES, type Rule, type RuleFinding, type RenderedPlan } from './rules';
export { Renderer, renderDevice, renderDevices, type RenderedDevice } from './render';
export { RenderError } from '../render';
export type { ConfigFacts, BfdSessionState, BgpSessionState, DeviceFactsRead, FeatureOutput, OperState, PlatformModule, TemplateHost, ZtpBootstrap } from './types';
