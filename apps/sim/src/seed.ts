import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { uuidv7 } from "@homeroute/ids";

// Demo tenants, one per residency policy, spread over the regions, with a user per role. Kept in
// the state dir so a restart finds the same ids (and does not place them twice).

export interface DemoTenant {
  tenantId: string;
  name: string;
  homeRegion: string;
  residencyPolicy: string;
}
export interface DemoUser {
  userId: string;
  tenantId: string;
  roles: string[];
  name: string;
}
export interface Demo {
  tenants: DemoTenant[];
  users: DemoUser[];
}

const TENANTS: Omit<DemoTenant, "tenantId">[] = [
  { name: "Otoritas Jasa Keuangan (demo)", homeRegion: "ap-id", residencyPolicy: "ID_STRICT" },
  { name: "EU Markets Authority (demo)", homeRegion: "eu", residencyPolicy: "EU_GDPR" },
  { name: "APAC Securities Commission (demo)", homeRegion: "ap-sg", residencyPolicy: "APAC_SHARED" },
  { name: "Australian Conduct Regulator (demo)", homeRegion: "ap-au", residencyPolicy: "APAC_SHARED" },
  { name: "Global Consumer Regulator (demo)", homeRegion: "us", residencyPolicy: "GLOBAL_STANDARD" },
];
const ROLES = ["tenant_admin", "reporter", "investigator", "reviewer", "supervisor", "auditor"];

export interface SeedApi {
  placeTenant(t: DemoTenant, adminUserIds: string[]): Promise<void>;
  grant(homeRegion: string, tenantId: string, userId: string, role: string): Promise<void>;
}

export async function seedDemo(stateDir: string, api: SeedApi): Promise<Demo> {
  const file = join(stateDir, "demo.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as Demo;
  const demo: Demo = { tenants: [], users: [] };
  for (const t of TENANTS) {
    const tenant = { tenantId: uuidv7(), ...t };
    const users = ROLES.map((role) => ({
      userId: uuidv7(),
      tenantId: tenant.tenantId,
      roles: [role],
      name: `${role}@${t.homeRegion}`,
    }));
    await api.placeTenant(
      tenant,
      users.filter((u) => u.roles.includes("tenant_admin")).map((u) => u.userId),
    );
    for (const u of users) {
      for (const role of u.roles)
        if (role !== "tenant_admin") await api.grant(t.homeRegion, tenant.tenantId, u.userId, role);
    }
    demo.tenants.push(tenant);
    demo.users.push(...users);
  }
  writeFileSync(file, JSON.stringify(demo, null, 2));
  return demo;
}
