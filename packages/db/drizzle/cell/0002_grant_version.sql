CREATE TABLE "grant_version" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"version" bigint NOT NULL,
	CONSTRAINT "grant_version_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
