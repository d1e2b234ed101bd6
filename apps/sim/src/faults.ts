import { DomainError } from "@homeroute/contracts";
import { uuidv7 } from "@homeroute/ids";
import type { HttpFaultProxy } from "./http-proxy.js";
import type { ManagedProcess } from "./supervisor.js";
import type { TcpFaultProxy } from "./tcp-proxy.js";

// Faults are applied to real things: processes (SIGKILL, SIGSTOP) and the proxies every hop goes
// through (connections refused or held). Healing undoes exactly what the fault did.

export const FAULT_KINDS = ["kill", "pause", "partition"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  faultId: string;
  target: string;
  kind: FaultKind;
  injectedAt: string;
  effect: string;
}

/** What a target is made of in this simulation. */
export interface FaultTarget {
  process?: ManagedProcess;
  proxy?: HttpFaultProxy | TcpFaultProxy;
  /** Set when a target exists in the contract but not yet in this build. */
  missing?: string;
  /** Waits until the healed target is fully back (a restarted cell holds its write lease again). */
  afterRestart?: () => Promise<void>;
}

export class FaultRegistry {
  private readonly active = new Map<string, Fault>();
  constructor(private readonly targets: (name: string) => FaultTarget | undefined) {}

  list(): Fault[] {
    return [...this.active.values()];
  }

  async inject(target: string, kind: FaultKind): Promise<Fault> {
    const t = this.targets(target);
    if (!t) throw new DomainError("NOT_FOUND", `no fault target ${target}`);
    if (t.missing) throw new DomainError("NOT_FOUND", t.missing);
    if ([...this.active.values()].some((f) => f.target === target)) {
      throw new DomainError("INVALID_TRANSITION", `${target} already has an active fault; heal it first`, {
        allowed: [],
      });
    }
    let effect: string;
    if (kind === "kill" && t.process) {
      const pid = t.process.pid;
      await t.process.kill();
      effect = `SIGKILL to pid ${pid ?? "?"}; heal restarts it`;
    } else if (kind === "pause" && t.process) {
      t.process.pause();
      effect = `SIGSTOP to pid ${t.process.pid}; heal sends SIGCONT`;
    } else if (t.proxy) {
      // A database or a broker shared by several cells: "kill" and "partition" cut this hop only.
      t.proxy.setMode(kind === "pause" ? "pause" : "partition");
      effect =
        kind === "pause" ? `${t.proxy.name}: traffic held` : `${t.proxy.name}: connections refused and cut`;
    } else {
      throw new DomainError("VALIDATION_FAILED", `${kind} does not apply to ${target}`);
    }
    const fault: Fault = { faultId: uuidv7(), target, kind, injectedAt: new Date().toISOString(), effect };
    this.active.set(fault.faultId, fault);
    return fault;
  }

  async heal(faultId: string): Promise<Fault> {
    const fault = this.active.get(faultId);
    if (!fault) throw new DomainError("NOT_FOUND", "no such active fault");
    const t = this.targets(fault.target)!;
    if (fault.kind === "kill" && t.process) {
      await t.process.restart();
      await t.afterRestart?.();
    } else if (fault.kind === "pause" && t.process) t.process.resume();
    else t.proxy?.setMode("pass");
    // A partitioned process target also had its proxy cut.
    if (fault.kind === "partition" && t.process && t.proxy) t.proxy.setMode("pass");
    this.active.delete(faultId);
    return fault;
  }

  async healAll(): Promise<void> {
    for (const id of [...this.active.keys()]) await this.heal(id).catch(() => {});
  }
}
