CREATE TABLE "audit_relay_progress" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"last_chain_seq" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_replica_event" (
	"tenant_id" uuid NOT NULL,
	"source_region" text NOT NULL,
	"chain_seq" bigint NOT NULL,
	"audit_event_id" uuid NOT NULL,
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
	"recorded_at" timestamp with time zone NOT NULL,
	"payload_hash" text NOT NULL,
	"metadata" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"replicated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_replica_event_tenant_id_source_region_chain_seq_pk" PRIMARY KEY("tenant_id","source_region","chain_seq"),
	CONSTRAINT "ck_audit_replica_seq_positive" CHECK ("audit_replica_event"."chain_seq" > 0)
);
--> statement-breakpoint
CREATE TABLE "audit_replica_head" (
	"tenant_id" uuid NOT NULL,
	"source_region" text NOT NULL,
	"chain_seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "audit_replica_head_tenant_id_source_region_pk" PRIMARY KEY("tenant_id","source_region")
);
--> statement-breakpoint
CREATE INDEX "ix_audit_replica_event_id" ON "audit_replica_event" USING btree ("audit_event_id");--> statement-breakpoint
-- The replica is append-only like the primary (DESIGN §13): a link, once copied, never changes.
CREATE OR REPLACE FUNCTION audit_replica_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER trg_audit_replica_append_only BEFORE UPDATE OR DELETE ON audit_replica_event
  FOR EACH ROW EXECUTE FUNCTION audit_replica_refuse_change();
--> statement-breakpoint
CREATE TRIGGER trg_audit_replica_no_truncate BEFORE TRUNCATE ON audit_replica_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_replica_refuse_change();
