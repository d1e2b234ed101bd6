export { bundleEdgeWorker, type RunningEdge, startEdge } from "./edge.js";
