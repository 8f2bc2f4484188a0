-- The app's instances tell the database which labels their client knows (issue 21): each process
-- of the web app (host + pid) keeps one row fresh, every 5 s, through report_instance() below, so
-- that the runbook can refuse a migration an app still running cannot read, and keep maintenance
-- ON while a replica that cannot read the new labels is up. Created by `make app-status` and by
-- migrate's preflight when missing; idempotent.
CREATE SCHEMA IF NOT EXISTS breaking_migrations;

CREATE TABLE IF NOT EXISTS breaking_migrations.app_instances (
  instance text PRIMARY KEY,                 -- host:pid of the app's process
  build    text,                             -- APP_BUILD, when the app sets it
  enums    jsonb NOT NULL DEFAULT '{}',      -- {"Role": ["USER", "ADMIN"]}: the labels its client knows
  started  timestamptz NOT NULL DEFAULT now(),
  seen     timestamptz NOT NULL DEFAULT now()
);

-- SECURITY DEFINER: the app's role needs no right on the table, only this function (PUBLIC may
-- execute a function by default); it can write its own report and nothing else. The app calls it
-- in a READ WRITE transaction of its own, which the maintenance guard's read-only default allows.
CREATE OR REPLACE FUNCTION breaking_migrations.report_instance(report jsonb) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  INSERT INTO breaking_migrations.app_instances AS i (instance, build, enums, started, seen)
  VALUES (report ->> 'instance', report ->> 'build', COALESCE(report -> 'enums', '{}'),
          COALESCE((report ->> 'started')::timestamptz, now()), now())
  ON CONFLICT (instance) DO UPDATE SET build = EXCLUDED.build, enums = EXCLUDED.enums, seen = now()
$$;
