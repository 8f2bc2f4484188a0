# breaking-migrations: the runbook as make targets. `make help` lists them.
# Every target reads DATABASE_URL (and the other settings) from the environment or from .env.
SHELL := /bin/bash
TSX   := node_modules/.bin/tsx
# The one entry point: every verb below is a row of its table (`make help` prints it).
CLI   := $(TSX) bin/breaking-migrations.ts
ROWS  ?= 100000
# npm ci writes this file last: node_modules is missing, or older than the lock, when it is.
NPM   := node_modules/.package-lock.json

.PHONY: help demo test lint test-e2e test-swarm bench seed baseline expand contract rollback status \
        postgres-programs setup maintenance-on maintenance-off maintenance-status dump restore backups \
        history psql app-status new-migration new-enum-migration

help: ## list the verbs (the entry point's table), then these development targets
	@$(CLI) help
	@echo; echo 'development:'
	@grep -E '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22 | sed 's/^/  /'

## --- try it (each sets up what it needs: npm packages, PostgreSQL's programs) ---------------
demo: postgres-programs
	@$(CLI) demo $(ROWS)

test: postgres-programs lint ## make lint, then the test suite (own throwaway PostgreSQL, or DATABASE_URL's server)
	@node_modules/.bin/tap

# Formatting and lint rules (Biome), the layer rule (dependency-cruiser), lines of at most 120 columns.
lint: $(NPM) ## formatting, lint rules, the layer rule of bin/lib/, lines of at most 120 columns
	@node_modules/.bin/biome ci --reporter=summary . >/dev/null 2>&1 || node_modules/.bin/biome ci --colors=off .
	@node_modules/.bin/depcruise --config .dependency-cruiser.cjs bin verify bench test e2e nextjs
	@git ls-files -z '*.ts' '*.sql' '*.sh' '*.yml' Makefile ':!examples/*/node_modules' | xargs -0 awk \
	  'length > 120 { printf "%s:%d: %d columns (at most 120)\n", FILENAME, FNR, length; bad = 1 } END { exit bad }'

$(NPM): package-lock.json
	@echo "setup: installing the npm packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error

postgres-programs: setup

setup: $(NPM)
	@$(CLI) setup

test-e2e: postgres-programs ## Next.js 15.5 and 16 apps + headless Chromium (needs npm ci in examples/*, chromium)
	@node_modules/.bin/tap --include 'e2e/*.test.ts' --include 'e2e/prisma/*.test.ts' --jobs 1

test-swarm: postgres-programs ## a real one-node Docker Swarm (installs docker.io, debootstrap when missing; needs root)
	@bash e2e/swarm/engine.sh && node_modules/.bin/tap --include 'e2e/swarm/*.test.ts' --jobs 1

## --- maintenance mode and backups -----------------------------------------------------------
maintenance-on: $(NPM)  # [REASON= MESSAGE= RETRY_AFTER=s]
	@$(CLI) maintenance-on

maintenance-off: $(NPM)
	@$(CLI) maintenance-off

maintenance-status: $(NPM)
	@$(CLI) maintenance-status

dump: $(NPM)
	@$(CLI) dump

restore: $(NPM)  # [YES=1] [LIVE=1: with maintenance OFF]
	@$(CLI) restore "$(DUMP)"

backups: $(NPM)  # [KEEP=n deletes older ones]
	@$(CLI) backups

history: $(NPM)
	@$(CLI) history

psql: $(NPM)
	@$(CLI) psql

app-status: $(NPM)  # [MIGRATION=NNNN] [APP_SEEN_S=60]
	@$(CLI) app-status

## --- schema steps of a migration, one at a time [MIGRATION=NNNN, default 0001] -------------
status: $(NPM)
	@$(CLI) status

expand: $(NPM)
	@$(CLI) expand

contract: $(NPM)
	@$(CLI) contract

rollback: $(NPM)
	@$(CLI) rollback

bench: postgres-programs  # [ROWS=1000000 ROUNDS=5]
	@$(CLI) bench $(if $(filter command line,$(origin ROWS)),$(ROWS),1000000) $(or $(ROUNDS),5)

## --- another migration ---------------------------------------------------------------------
new-migration: $(NPM)
	@$(CLI) new-migration

new-enum-migration: $(NPM)
	@$(CLI) new-enum-migration

## --- sandbox only ---------------------------------------------------------------------------
baseline: $(NPM)
	@$(CLI) baseline

seed: $(NPM)
	@$(CLI) seed $(ROWS)

## --- the whole runbook ----------------------------------------------------------------------
rehearse-%: $(NPM)  # [STRATEGY=]
	@$(CLI) rehearse-$*

verify-%: $(NPM)  # [DRY_RUN=1]
	@$(CLI) verify-$*

plan-%: $(NPM)
	@$(CLI) plan-$*

migrate-%: $(NPM)  # [STRATEGY= AUTO_RESTORE=1 PRISMA_DIR=]
	@$(CLI) migrate-$*

prisma-%: $(NPM)
	@$(CLI) prisma-$*
