export { type ProjectorEnv, projectorEnvSchema } from "./env.js";
export { Projector } from "./projector.js";
export { type RunningProjector, startProjector } from "./server.js";
