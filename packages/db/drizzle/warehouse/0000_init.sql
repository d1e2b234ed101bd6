CREATE TABLE "case_aggregate" (
	"home_region" text NOT NULL,
	"policy_code" text NOT NULL,
	"status" text NOT NULL,
	"category" text NOT NULL,
	"cases" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "case_aggregate_home_region_policy_code_status_category_pk" PRIMARY KEY("home_region","policy_code","status","category")
);
--> statement-breakpoint
CREATE TABLE "case_fact" (
	"tenant_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"home_region" text NOT NULL,
	"policy_code" text NOT NULL,
	"status" text NOT NULL,
	"category" text,
	"version" bigint NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "case_fact_tenant_id_case_id_pk" PRIMARY KEY("tenant_id","case_id")
);
--> statement-breakpoint
CREATE TABLE "ingested_event" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"region" text NOT NULL,
	"mode" text NOT NULL,
	"late" boolean DEFAULT false NOT NULL,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingestion_watermark" (
	"region" text PRIMARY KEY NOT NULL,
	"last_stream_seq" bigint DEFAULT 0 NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"late_events" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "report_snapshot" (
	"snapshot_id" uuid PRIMARY KEY NOT NULL,
	"report" text NOT NULL,
	"body" text NOT NULL,
	"checksum" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"meta" jsonb
);
--> statement-breakpoint
CREATE TABLE "schema_version_seen" (
	"region" text NOT NULL,
	"event_type" text NOT NULL,
	"schema_version" integer NOT NULL,
	"events" bigint DEFAULT 0 NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schema_version_seen_region_event_type_schema_version_pk" PRIMARY KEY("region","event_type","schema_version")
);
