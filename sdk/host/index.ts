// Public API of the Node host (package export "./host").
export { loadPolicy, hostSettings, Policy, PolicyLoadError } from './policy.js';
export type { Decision, PskOutcome, LoadOptions, AclRequest, MessageRequest, MessageOutcome, SubscribeRequest, SubscribeOutcome, Action, ClientInfo, ByteInput, HostSettings } from './policy.js';
export { topicMatchesSub } from './topic.js';
export { ClientGrants, readGrants, ASK, type Grant } from './grants.js';
export { pwVerify } from './password.js';
export {
  createImports, newOptionFileStreams, closeOptionFileStreams, type ImportContext, type OptionFileStreams,
} from './imports.js';
export { checkModule, meter, meterModule, readModuleFile, ModuleError, type MeteredModule } from './gate.js';
export type { CheckedModule, GateReport, HookSignatures, RuleLimits } from './gate.js';
export * as abi from './abi.js';
export * as limits from './limits.js';
