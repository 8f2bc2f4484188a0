# breaking-migrations: the runbook as make targets. `make help` lists them.
# Every target reads DATABASE_URL (and the other settings) from the environment or from .env.
SHELL := /bin/bash
TSX   := node_modules/.bin/tsx
ROWS  ?= 100000

.PHONY: help demo test seed baseline expand contract rollback status

help: ## list the verbs
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22

## --- try it ---------------------------------------------------------------------------------
demo: ## whole story on a throwaway PostgreSQL: baseline, ROWS users, migration 0001, before/after
	@$(TSX) bin/demo.ts $(ROWS)

test: ## the test suite (own throwaway PostgreSQL, or DATABASE_URL's server when set)
	@node_modules/.bin/tap

## --- schema steps of migration 0001, one at a time ------------------------------------------
status: ## applied/pending migrations, "Role" labels in order, rows per label
	@$(TSX) bin/status.ts

expand: ## expand: add EMPLOYEE and MANAGER before ADMIN (idempotent)
	@$(TSX) bin/schema.ts expand

contract: ## contract: swap "Role" for EMPLOYEE, MANAGER, ADMIN (refuses while USER rows remain)
	@$(TSX) bin/schema.ts contract

rollback: ## undo the most recent schema step (contract, then expand)
	@$(TSX) bin/schema.ts rollback

## --- sandbox only ---------------------------------------------------------------------------
baseline: ## the "before" schema (Prisma's User/Role); refuses when "User" exists
	@$(TSX) bin/schema.ts baseline

seed: ## add ROWS fake users (90% USER, 10% ADMIN); refuses on an application database
	@$(TSX) bin/seed.ts $(ROWS)
