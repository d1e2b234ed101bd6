import { timestamp } from "drizzle-orm/pg-core";

// Shared column helpers: every time is timestamptz, ms precision is what JS carries anyway.
export const tstz = (name?: string) =>
  name
    ? timestamp(name, { withTimezone: true, mode: "date" })
    : timestamp({ withTimezone: true, mode: "date" });
export const createdAt = () => tstz().notNull().defaultNow();
export const updatedAt = () => tstz().notNull().defaultNow();
