CREATE TABLE "standby_progress" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"source_region" text NOT NULL,
	"last_event_id" uuid,
	"last_event_at" timestamp with time zone,
	"last_applied_at" timestamp with time zone,
	"events_applied" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "cross_region_conflict_case" ADD COLUMN "source_event_id" uuid;--> statement-breakpoint
ALTER TABLE "cross_region_conflict_case" ADD COLUMN "resolved_by" uuid;--> statement-breakpoint
ALTER TABLE "cross_region_conflict_case" ADD CONSTRAINT "cross_region_conflict_case_sourceEventId_unique" UNIQUE("source_event_id");