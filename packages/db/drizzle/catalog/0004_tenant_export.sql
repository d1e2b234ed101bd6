CREATE TABLE "tenant_export" (
	"export_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"source_region" text NOT NULL,
	"target_region" text NOT NULL,
	"mode" text NOT NULL,
	"location" text NOT NULL,
	"row_count" integer NOT NULL,
	"sha256" text NOT NULL,
	"actor_id" uuid,
	"correlation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_tenant_export_kind" CHECK ("tenant_export"."kind" IN ('analytics','support','backup')),
	CONSTRAINT "ck_tenant_export_mode" CHECK ("tenant_export"."mode" IN ('full','anonymised_aggregates'))
);
--> statement-breakpoint
CREATE INDEX "ix_tenant_export_tenant" ON "tenant_export" USING btree ("tenant_id","created_at");