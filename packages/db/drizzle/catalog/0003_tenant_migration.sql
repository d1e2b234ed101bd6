CREATE TABLE "tenant_region_migration" (
	"migration_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"source_region" text NOT NULL,
	"target_region" text NOT NULL,
	"status" text NOT NULL,
	"reason" text NOT NULL,
	"started_at" timestamp with time zone,
	"cutover_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"validation_summary" jsonb,
	"error_message" text,
	"step_timings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"write_freeze_ms" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
