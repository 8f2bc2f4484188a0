# breaking-migrations' verbs as make targets, for the app's own Makefile with one line:
#   include node_modules/breaking-migrations/breaking-migrations.mk
# (`npx breaking-migrations init` writes it, relative to the app's folder: ../../node_modules/… in a
# package of an npm workspace). Every target reads DATABASE_URL and the other settings from the
# environment or from .env; the app's migrations are read from MIGRATIONS_DIR (./migrations).
#   BREAKING_MIGRATIONS        the command (default: node and this file's own bin/breaking-migrations.mjs)
#   BREAKING_MIGRATIONS_NEEDS  what every verb needs first (this repository's own Makefile: npm ci)
# This file's folder is taken now (:=): MAKEFILE_LIST ends with this file only while make reads it.
# The includer's .DEFAULT_GOAL is saved here and restored at the end: `make` alone runs its own first target.
BREAKING_MIGRATIONS_HOME := $(dir $(lastword $(MAKEFILE_LIST)))
BREAKING_MIGRATIONS ?= node $(BREAKING_MIGRATIONS_HOME)bin/breaking-migrations.mjs
BREAKING_MIGRATIONS_GOAL := $(.DEFAULT_GOAL)

.PHONY: init maintenance-on maintenance-off maintenance-status dump restore backups history psql app-status \
        status expand contract rollback new-migration new-enum-migration

## --- the app's repository -----------------------------------------------------------------
init: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) init

## --- maintenance mode, backups, the app ------------------------------------------------
maintenance-on: $(BREAKING_MIGRATIONS_NEEDS)  # [REASON= MESSAGE= RETRY_AFTER=s]
	@$(BREAKING_MIGRATIONS) maintenance-on

maintenance-off: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) maintenance-off

maintenance-status: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) maintenance-status

dump: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) dump

restore: $(BREAKING_MIGRATIONS_NEEDS)  # DUMP=… [YES=1] [LIVE=1: with maintenance OFF]
	@$(BREAKING_MIGRATIONS) restore "$(DUMP)"

backups: $(BREAKING_MIGRATIONS_NEEDS)  # [KEEP=n deletes older ones]
	@$(BREAKING_MIGRATIONS) backups

history: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) history

psql: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) psql

app-status: $(BREAKING_MIGRATIONS_NEEDS)  # [MIGRATION=NNNN] [APP_SEEN_S=60]
	@$(BREAKING_MIGRATIONS) app-status

## --- schema steps of a migration, one at a time [MIGRATION=NNNN, default: the newest] --------
status: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) status

expand: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) expand

contract: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) contract

rollback: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) rollback

## --- the whole runbook ----------------------------------------------------------------------
plan-%: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) plan-$*

rehearse-%: $(BREAKING_MIGRATIONS_NEEDS)  # [STRATEGY=]
	@$(BREAKING_MIGRATIONS) rehearse-$*

migrate-%: $(BREAKING_MIGRATIONS_NEEDS)  # [STRATEGY= AUTO_RESTORE=1 PRISMA_DIR= APP_IMAGE=]
	@$(BREAKING_MIGRATIONS) migrate-$*

verify-%: $(BREAKING_MIGRATIONS_NEEDS)  # [DRY_RUN=1]
	@$(BREAKING_MIGRATIONS) verify-$*

prisma-%: $(BREAKING_MIGRATIONS_NEEDS)
	@$(BREAKING_MIGRATIONS) prisma-$*

## --- another migration (written into MIGRATIONS_DIR) ----------------------------------------
new-migration: $(BREAKING_MIGRATIONS_NEEDS)  # ID=NNNN NAME=…
	@$(BREAKING_MIGRATIONS) new-migration

new-enum-migration: $(BREAKING_MIGRATIONS_NEEDS)  # ID=NNNN TYPE=… FROM=… TO=… MAP=…
	@$(BREAKING_MIGRATIONS) new-enum-migration

# The includer's default goal again (empty when the include came first: its next target becomes it).
.DEFAULT_GOAL := $(BREAKING_MIGRATIONS_GOAL)
