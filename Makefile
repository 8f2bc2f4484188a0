# breaking-migrations: the runbook as make targets. `make help` lists them.
# Every target reads DATABASE_URL (and the other settings) from the environment or from .env.
SHELL := /bin/bash
TSX   := node_modules/.bin/tsx
ROWS  ?= 100000

.PHONY: help demo test test-e2e bench seed baseline expand contract rollback status \
        maintenance-on maintenance-off maintenance-status dump restore backups

help: ## list the verbs
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22

## --- try it ---------------------------------------------------------------------------------
demo: ## whole story on a throwaway PostgreSQL: baseline, ROWS users, migration 0001, before/after
	@$(TSX) bin/demo.ts $(ROWS)

test: ## the test suite (own throwaway PostgreSQL, or DATABASE_URL's server when set)
	@node_modules/.bin/tap

test-e2e: ## Next.js 15.5 and 16 example apps + headless Chromium (needs npm ci in examples/*, chromium)
	@node_modules/.bin/tap --include 'e2e/**/*.test.ts' --jobs 1

## --- maintenance mode and backups -----------------------------------------------------------
maintenance-on: ## lock file ON (+ database read-only for other sessions) [REASON=… RETRY_AFTER=s]
	@$(TSX) bin/maintenance.ts on

maintenance-off: ## database writable again, then lock file OFF
	@$(TSX) bin/maintenance.ts off

maintenance-status: ## ON / OFF / PARTIAL, with reason and age
	@$(TSX) bin/maintenance.ts status

dump: ## pg_dump into BACKUP_DIR (0600 file, checksum, manifest); prints the path last
	@$(TSX) bin/dump.ts

restore: ## restore DUMP=backups/….dump in one transaction [YES=1]
	@$(TSX) bin/restore.ts "$(DUMP)"

backups: ## list dumps, newest first [KEEP=n deletes older ones]
	@$(TSX) bin/backups.ts

## --- schema steps of migration 0001, one at a time ------------------------------------------
status: ## applied/pending migrations, "Role" labels in order, rows per label
	@$(TSX) bin/status.ts

expand: ## expand: add EMPLOYEE and MANAGER before ADMIN (idempotent)
	@$(TSX) bin/schema.ts expand

contract: ## contract: swap "Role" for EMPLOYEE, MANAGER, ADMIN (refuses while USER rows remain)
	@$(TSX) bin/schema.ts contract

rollback: ## undo the most recent schema step (contract, then expand)
	@$(TSX) bin/schema.ts rollback

bench: ## toolkit vs bare SQL floor on a sandbox [ROWS=1000000 ROUNDS=5]; table + JSON
	@$(TSX) bench/bench.ts $(if $(filter command line,$(origin ROWS)),$(ROWS),1000000) $(or $(ROUNDS),5)

## --- sandbox only ---------------------------------------------------------------------------
baseline: ## the "before" schema (Prisma's User/Role); refuses when "User" exists
	@$(TSX) bin/schema.ts baseline

seed: ## add ROWS fake users (90% USER, 10% ADMIN); refuses on an application database
	@$(TSX) bin/seed.ts $(ROWS)

## --- the whole runbook ----------------------------------------------------------------------
rehearse-%: ## rehearse-0001: the whole runbook on a scratch copy (same server, or REHEARSE_IN=sandbox) [STRATEGY=]
	@$(TSX) bin/rehearse.ts $*

verify-%: ## verify-0001: the mutation and its invariants alone, in one transaction [DRY_RUN=1]
	@$(TSX) verify/verify.ts $*

plan-%: ## plan-0001: each strategy's lock, rewrite and estimated window for this database
	@$(TSX) bin/plan.ts $*

migrate-%: ## migrate-0001: preflight, maintenance, dump, expand, verify, contract, checks [STRATEGY= AUTO_RESTORE=1 PRISMA_DIR=]
	@$(TSX) bin/migrate.ts $*

prisma-%: ## prisma-0001 PRISMA_DIR=…: tell Prisma (migration folder, _prisma_migrations row, schema.prisma)
	@$(TSX) bin/prisma.ts $*
