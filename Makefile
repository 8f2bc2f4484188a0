# breaking-migrations: the runbook as make targets. `make help` lists them.
# Every target reads DATABASE_URL (and the other settings) from the environment or from .env.
SHELL := /bin/bash
TSX   := node_modules/.bin/tsx
ROWS  ?= 100000
# npm ci writes this file last: node_modules is missing, or older than the lock, when it is.
NPM   := node_modules/.package-lock.json

.PHONY: help demo test test-e2e bench seed baseline expand contract rollback status postgres-programs \
        maintenance-on maintenance-off maintenance-status dump restore backups history psql new-migration new-enum-migration

help: ## list the verbs
	@grep -E '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22

## --- try it (each sets up what it needs: npm packages, PostgreSQL's programs) ---------------
demo: postgres-programs ## whole story on a throwaway PostgreSQL: baseline, ROWS users, migration 0001, before/after
	@$(TSX) bin/demo.ts $(ROWS)

test: postgres-programs ## the test suite (own throwaway PostgreSQL, or DATABASE_URL's server when set)
	@node_modules/.bin/tap

$(NPM): package-lock.json
	@echo "setup: installing the npm packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error

postgres-programs: $(NPM)
	@$(TSX) bin/setup.ts postgres

test-e2e: postgres-programs ## Next.js 15.5 and 16 example apps + headless Chromium (needs npm ci in examples/*, chromium)
	@node_modules/.bin/tap --include 'e2e/**/*.test.ts' --jobs 1

## --- maintenance mode and backups -----------------------------------------------------------
maintenance-on: $(NPM) ## lock file + database flag ON, database read-only for other sessions [REASON= MESSAGE= RETRY_AFTER=s]
	@$(TSX) bin/maintenance.ts on

maintenance-off: $(NPM) ## database writable again, flag and lock file OFF
	@$(TSX) bin/maintenance.ts off

maintenance-status: $(NPM) ## ON / OFF / PARTIAL, with reason and age
	@$(TSX) bin/maintenance.ts status

dump: $(NPM) ## pg_dump into BACKUP_DIR (0600 file, checksum, manifest); prints the path last
	@$(TSX) bin/dump.ts

restore: $(NPM) ## restore DUMP=backups/….dump in one transaction, says what it discards [YES=1] [LIVE=1: with maintenance OFF]
	@$(TSX) bin/restore.ts "$(DUMP)"

backups: $(NPM) ## list dumps, newest first [KEEP=n deletes older ones]
	@$(TSX) bin/backups.ts

history: $(NPM) ## every run of every migration on this database, newest first (--json: tsx bin/history.ts --json)
	@$(TSX) bin/history.ts

psql: $(NPM) ## a psql session that may write while the guard holds the database read-only (to fix what a run names)
	@$(TSX) bin/psql.ts

## --- schema steps of a migration, one at a time [MIGRATION=NNNN, default 0001] -------------
status: $(NPM) ## applied/pending files of the migration, and what its sql/NNNN/status.sql reports
	@$(TSX) bin/status.ts

expand: $(NPM) ## the migration's expand step (additive)
	@$(TSX) bin/schema.ts expand

contract: $(NPM) ## the migration's contract step (refuses, changing nothing, while data or objects forbid it)
	@$(TSX) bin/schema.ts contract

rollback: $(NPM) ## undo the migration's latest step: contract, then expand; never the toolkit
	@$(TSX) bin/schema.ts rollback

bench: postgres-programs ## toolkit vs bare SQL floor on a sandbox [ROWS=1000000 ROUNDS=5]; table + JSON
	@$(TSX) bench/bench.ts $(if $(filter command line,$(origin ROWS)),$(ROWS),1000000) $(or $(ROUNDS),5)

## --- another migration ---------------------------------------------------------------------
new-migration: $(NPM) ## ID=NNNN NAME=…: a skeleton of every file of a migration; its TODOs refuse to run
	@$(TSX) bin/new-migration.ts skeleton

new-enum-migration: $(NPM) ## ID=NNNN TYPE=Enum FROM=a,b TO=x,y MAP=a=x: a complete migration for an enum change
	@$(TSX) bin/new-migration.ts enum

## --- sandbox only ---------------------------------------------------------------------------
baseline: $(NPM) ## the "before" schema (Prisma's User/Role); refuses when "User" exists
	@$(TSX) bin/schema.ts baseline

seed: $(NPM) ## add ROWS fake users to the baseline's "User" (90% USER, 10% ADMIN); refuses on an app database
	@$(TSX) bin/seed.ts $(ROWS)

## --- the whole runbook ----------------------------------------------------------------------
rehearse-%: $(NPM) ## rehearse-NNNN: the whole runbook on a scratch copy (same server, or REHEARSE_IN=sandbox) [STRATEGY=]
	@$(TSX) bin/rehearse.ts $*

verify-%: $(NPM) ## verify-NNNN: the mutation and its invariants alone, in one transaction [DRY_RUN=1]
	@$(TSX) verify/verify.ts $*

plan-%: $(NPM) ## plan-NNNN: each strategy's lock, rewrite and estimated window, and a recommendation
	@$(TSX) bin/plan.ts $*

migrate-%: $(NPM) ## migrate-NNNN: preflight, maintenance, dump, expand, verify, contract, checks [STRATEGY= AUTO_RESTORE=1 PRISMA_DIR=]
	@$(TSX) bin/migrate.ts $*

prisma-%: $(NPM) ## prisma-NNNN PRISMA_DIR=…: tell Prisma (migration folder, _prisma_migrations row, schema.prisma)
	@$(TSX) bin/prisma.ts $*
