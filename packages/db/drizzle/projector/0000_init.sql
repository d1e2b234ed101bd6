CREATE TABLE "case_projection" (
	"tenant_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"case_number" text,
	"home_region" text NOT NULL,
	"region_epoch" bigint NOT NULL,
	"status" text,
	"public_status" text,
	"version" bigint NOT NULL,
	"category" text,
	"country_code" text,
	"summary" text,
	"access_code_hash" text,
	"created_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "case_projection_tenant_id_case_id_pk" PRIMARY KEY("tenant_id","case_id")
);
--> statement-breakpoint
CREATE TABLE "grant_projection" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"version" bigint NOT NULL,
	CONSTRAINT "grant_projection_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "region_watermark" (
	"region" text PRIMARY KEY NOT NULL,
	"last_stream_seq" bigint DEFAULT 0 NOT NULL,
	"last_event_at" timestamp with time zone,
	"as_of" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rejected_event" (
	"stream_seq" bigint NOT NULL,
	"region" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"reason" text NOT NULL,
	"rejected_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ix_case_projection_number" ON "case_projection" USING btree ("tenant_id","case_number");