import { z } from "zod";
import { regionCode, residencyPolicyCode } from "./common.js";

// Schema of infra/topology.json: regions, simulated round trips and the seeded residency policies.
export const topologySchema = z.object({
  regions: z
    .array(
      z.object({
        code: regionCode,
        displayPrefix: z.string().regex(/^[A-Z]{2,8}$/),
        jurisdiction: z.string(),
        roles: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  rttMs: z.object({
    intraRegion: z.number().nonnegative(),
    pairs: z.array(z.tuple([regionCode, regionCode, z.number().nonnegative()])),
  }),
  residencyPolicies: z.array(
    z.object({
      policyCode: residencyPolicyCode,
      allowedRegions: z.array(regionCode).min(1),
      backupRegions: z.array(regionCode).min(1),
      analyticsAllowed: z.boolean(),
      analyticsMode: z.enum(["full", "anonymised"]).optional(),
      crossBorderExportAllowed: z.boolean(),
      deferredUploadAllowed: z.boolean(),
    }),
  ),
});
export type Topology = z.infer<typeof topologySchema>;

export const REFERENCE_KINDS = ["countries", "violation-categories"] as const;
export const referenceKind = z.enum(REFERENCE_KINDS);
export type ReferenceKind = z.infer<typeof referenceKind>;

export const referenceDataFile = z.object({
  countries: z.object({
    version: z.number().int().positive(),
    items: z.array(z.record(z.string(), z.unknown())),
  }),
  "violation-categories": z.object({
    version: z.number().int().positive(),
    items: z.array(z.record(z.string(), z.unknown())),
  }),
});
