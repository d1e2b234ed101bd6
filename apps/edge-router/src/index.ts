import { createEdgeApp } from "./app.js";

export { IntakeQueue } from "./intake/intake-queue.js";

const app = createEdgeApp();

export default app;
