CREATE TABLE "dr_drill" (
	"drill_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"from_region" text NOT NULL,
	"to_region" text NOT NULL,
	"fenced_by" text NOT NULL,
	"rto_ms" integer NOT NULL,
	"rpo_seconds" integer,
	"failed_back" text NOT NULL,
	"result" jsonb NOT NULL,
	"ran_at" timestamp with time zone DEFAULT now() NOT NULL
);
