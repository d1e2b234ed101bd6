CREATE TABLE "entity_home_region" (
	"entity_type" text NOT NULL,
	"entity_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"home_region" text NOT NULL,
	"region_epoch" bigint DEFAULT 1 NOT NULL,
	"assigned_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "entity_home_region_entity_type_entity_id_pk" PRIMARY KEY("entity_type","entity_id")
);
--> statement-breakpoint
CREATE TABLE "region" (
	"code" text PRIMARY KEY NOT NULL,
	"display_prefix" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"mode" text DEFAULT 'WRITABLE' NOT NULL,
	"cell_url" text,
	"mode_reason" text,
	"last_heartbeat_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_region_mode" CHECK ("region"."mode" IN ('WRITABLE','READ_ONLY'))
);
--> statement-breakpoint
CREATE TABLE "region_write_epoch" (
	"logical_scope" text PRIMARY KEY NOT NULL,
	"active_region" text NOT NULL,
	"epoch" bigint NOT NULL,
	"status" text NOT NULL,
	"lease_expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_region_write_epoch_status" CHECK ("region_write_epoch"."status" IN ('WRITABLE','READ_ONLY','FENCED','MIGRATING'))
);
--> statement-breakpoint
CREATE TABLE "residency_policy" (
	"policy_code" text PRIMARY KEY NOT NULL,
	"allowed_regions" text[] NOT NULL,
	"backup_regions" text[] NOT NULL,
	"analytics_allowed" boolean NOT NULL,
	"analytics_mode" text DEFAULT 'full' NOT NULL,
	"cross_border_export_allowed" boolean NOT NULL,
	"projection_regions" text[] NOT NULL,
	"search_regions" text[] NOT NULL,
	"log_regions" text[] NOT NULL,
	"support_regions" text[] NOT NULL,
	"description" text NOT NULL,
	"effective_from" date NOT NULL,
	"effective_to" date
);
--> statement-breakpoint
CREATE TABLE "tenant_region_assignment" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"home_region" text NOT NULL,
	"residency_policy" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_tenant_region_status" CHECK ("tenant_region_assignment"."status" IN ('ACTIVE','MIGRATING','SUSPENDED','DECOMMISSIONED'))
);
--> statement-breakpoint
CREATE TABLE "catalog_audit_event" (
	"audit_event_id" uuid PRIMARY KEY NOT NULL,
	"actor_id" uuid,
	"action_type" text NOT NULL,
	"tenant_id" uuid,
	"target_region" text,
	"outcome" text NOT NULL,
	"correlation_id" text,
	"metadata" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"seq" bigint
);
--> statement-breakpoint
CREATE TABLE "catalog_command_log" (
	"command_id" uuid PRIMARY KEY NOT NULL,
	"operation" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cell_sync_task" (
	"task_id" bigserial PRIMARY KEY NOT NULL,
	"region" text NOT NULL,
	"method" text NOT NULL,
	"path" text NOT NULL,
	"body" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"done_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reference_data" (
	"kind" text NOT NULL,
	"version" integer NOT NULL,
	"items" jsonb NOT NULL,
	"published_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reference_data_kind_version_pk" PRIMARY KEY("kind","version")
);
--> statement-breakpoint
CREATE TABLE "routing_snapshot" (
	"version" bigserial PRIMARY KEY NOT NULL,
	"snapshot" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ix_entity_home_tenant" ON "entity_home_region" USING btree ("tenant_id","entity_type","home_region");--> statement-breakpoint
CREATE INDEX "ix_catalog_audit_tenant" ON "catalog_audit_event" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "ix_cell_sync_pending" ON "cell_sync_task" USING btree ("region","task_id");