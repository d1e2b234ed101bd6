export { type RelayEnv, relayEnvSchema } from "./env.js";
export { Relay, type RelayStatus } from "./relay.js";
export { type RunningRelay, startRelay } from "./server.js";
