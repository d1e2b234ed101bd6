CREATE TABLE "standby_applied_event" (
	"tenant_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"source_region" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "standby_applied_event_tenant_id_event_id_pk" PRIMARY KEY("tenant_id","event_id")
);
--> statement-breakpoint
CREATE INDEX "ix_standby_applied_source" ON "standby_applied_event" USING btree ("tenant_id","source_region");