import type { Topology } from "@homeroute/contracts";

/** DESIGN §2's simulated round-trip matrix, symmetric, with the intra-region figure on the diagonal. */
export function rttMatrix(topology: Topology): (a: string, b: string) => number {
  const table = new Map<string, number>();
  for (const [a, b, ms] of topology.rttMs.pairs) {
    table.set(`${a}|${b}`, ms);
    table.set(`${b}|${a}`, ms);
  }
  return (a, b) =>
    a === b ? topology.rttMs.intraRegion : (table.get(`${a}|${b}`) ?? topology.rttMs.intraRegion);
}
