CREATE TABLE "case_number_counter" (
	"tenant_id" uuid NOT NULL,
	"region_code" text NOT NULL,
	"year" integer NOT NULL,
	"next_value" bigint NOT NULL,
	CONSTRAINT "case_number_counter_tenant_id_region_code_year_pk" PRIMARY KEY("tenant_id","region_code","year")
);
--> statement-breakpoint
CREATE TABLE "case_task" (
	"tenant_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"title" text NOT NULL,
	"assignee_id" uuid NOT NULL,
	"due_at" timestamp with time zone,
	"status" text NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "case_task_tenant_id_task_id_pk" PRIMARY KEY("tenant_id","task_id")
);
--> statement-breakpoint
CREATE TABLE "evidence_object" (
	"tenant_id" uuid NOT NULL,
	"evidence_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"content_type" text NOT NULL,
	"filename" text NOT NULL,
	"storage_region" text NOT NULL,
	"object_key" text NOT NULL,
	"uploaded_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "evidence_object_tenant_id_evidence_id_pk" PRIMARY KEY("tenant_id","evidence_id")
);
--> statement-breakpoint
CREATE TABLE "regulatory_case" (
	"tenant_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"home_region" text NOT NULL,
	"region_epoch" bigint NOT NULL,
	"case_number" text NOT NULL,
	"status" text NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"category" text NOT NULL,
	"country_code" text NOT NULL,
	"summary" text NOT NULL,
	"channel" text NOT NULL,
	"access_code_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "regulatory_case_tenant_id_case_id_pk" PRIMARY KEY("tenant_id","case_id"),
	CONSTRAINT "uq_case_number_region" UNIQUE("tenant_id","home_region","case_number"),
	CONSTRAINT "ck_case_version" CHECK ("regulatory_case"."version" >= 0)
);
--> statement-breakpoint
CREATE TABLE "review_recommendation" (
	"tenant_id" uuid NOT NULL,
	"recommendation_id" uuid NOT NULL,
	"case_id" uuid NOT NULL,
	"reviewer_id" uuid NOT NULL,
	"reviewer_region" text NOT NULL,
	"recommendation" text NOT NULL,
	"rationale" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_recommendation_tenant_id_recommendation_id_pk" PRIMARY KEY("tenant_id","recommendation_id")
);
--> statement-breakpoint
CREATE TABLE "audit_chain_head" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"last_seq" bigint NOT NULL,
	"last_hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cross_region_conflict_case" (
	"conflict_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" uuid NOT NULL,
	"home_region" text NOT NULL,
	"conflicting_region" text NOT NULL,
	"conflict_type" text NOT NULL,
	"local_version" bigint,
	"remote_version" bigint,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"detected_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolution_note" text
);
--> statement-breakpoint
CREATE TABLE "global_audit_event" (
	"audit_event_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"home_region" text NOT NULL,
	"region_epoch" bigint,
	"actor_id" uuid,
	"action_type" text NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" uuid NOT NULL,
	"aggregate_version" bigint,
	"command_id" uuid,
	"correlation_id" text,
	"causation_id" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload_hash" text DEFAULT '' NOT NULL,
	"metadata" jsonb NOT NULL,
	"chain_seq" bigint DEFAULT 0 NOT NULL,
	"prev_hash" text DEFAULT '' NOT NULL,
	"hash" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox_event" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"aggregate_type" text NOT NULL,
	"aggregate_id" uuid NOT NULL,
	"aggregate_version" bigint NOT NULL,
	"event_type" text NOT NULL,
	"envelope" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	CONSTRAINT "outbox_event_eventId_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "authorization_grant" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"granted_by" uuid,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "authorization_grant_tenant_id_user_id_role_pk" PRIMARY KEY("tenant_id","user_id","role")
);
--> statement-breakpoint
CREATE TABLE "command_log" (
	"tenant_id" uuid NOT NULL,
	"command_id" uuid NOT NULL,
	"operation" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" bigint NOT NULL,
	"response" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "command_log_tenant_id_command_id_pk" PRIMARY KEY("tenant_id","command_id")
);
--> statement-breakpoint
CREATE TABLE "region_write_epoch" (
	"logical_scope" text PRIMARY KEY NOT NULL,
	"active_region" text NOT NULL,
	"epoch" bigint NOT NULL,
	"status" text NOT NULL,
	"lease_expires_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_region_write_epoch_status" CHECK ("region_write_epoch"."status" IN ('WRITABLE','READ_ONLY','FENCED','MIGRATING')),
	CONSTRAINT "ck_region_write_epoch_positive" CHECK ("region_write_epoch"."epoch" > 0)
);
--> statement-breakpoint
CREATE TABLE "tenant_registration" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"home_region" text NOT NULL,
	"status" text NOT NULL,
	"residency_policy" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ck_tenant_registration_status" CHECK ("tenant_registration"."status" IN ('ACTIVE','MIGRATING','SUSPENDED','DECOMMISSIONED'))
);
--> statement-breakpoint
CREATE INDEX "ix_task_case" ON "case_task" USING btree ("tenant_id","case_id");--> statement-breakpoint
CREATE INDEX "ix_evidence_case" ON "evidence_object" USING btree ("tenant_id","case_id");--> statement-breakpoint
CREATE INDEX "ix_case_tenant_status" ON "regulatory_case" USING btree ("tenant_id","status","case_id");--> statement-breakpoint
CREATE INDEX "ix_review_case" ON "review_recommendation" USING btree ("tenant_id","case_id");--> statement-breakpoint
CREATE INDEX "ix_audit_tenant_chain" ON "global_audit_event" USING btree ("tenant_id","chain_seq");--> statement-breakpoint
CREATE INDEX "ix_audit_aggregate" ON "global_audit_event" USING btree ("tenant_id","aggregate_id","aggregate_version");--> statement-breakpoint
CREATE INDEX "ix_outbox_unpublished" ON "outbox_event" USING btree ("seq") WHERE "outbox_event"."published_at" IS NULL;--> statement-breakpoint
CREATE INDEX "ix_command_log_created" ON "command_log" USING btree ("created_at");