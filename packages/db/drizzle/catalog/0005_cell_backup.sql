CREATE TABLE "cell_backup" (
	"backup_id" uuid PRIMARY KEY NOT NULL,
	"source_region" text NOT NULL,
	"store_region" text NOT NULL,
	"status" text NOT NULL,
	"requested_by" uuid,
	"included_tenants" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"excluded_tenants" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"manifest" jsonb,
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "ck_cell_backup_status" CHECK ("cell_backup"."status" IN ('RUNNING','COMPLETED','FAILED'))
);
--> statement-breakpoint
CREATE INDEX "ix_cell_backup_source" ON "cell_backup" USING btree ("source_region","created_at");