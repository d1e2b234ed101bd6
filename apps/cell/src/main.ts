import { runService } from "@homeroute/service-kit";
import { loadCellEnv } from "./env.js";
import { startCell } from "./server.js";

await runService(async () => {
  const cell = await startCell(loadCellEnv());
  cell.deps.log.info("cell listening", { region: cell.deps.region, url: cell.url });
  return cell;
});
