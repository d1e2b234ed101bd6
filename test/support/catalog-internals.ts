// Test-only access to a catalog internal that has no public route (republishing a snapshot
// after a test corrupts routing data on purpose).
export { publishSnapshot as publishSnapshotForTests } from "../../apps/catalog/src/snapshot/publish.js";
