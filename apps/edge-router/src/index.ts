import { createEdgeApp } from "./app.js";

const app = createEdgeApp();

export default app;
