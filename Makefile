# This repository's Makefile: the runbook's verbs (breaking-migrations.mk, as an app includes them), plus
# the demo, the tests and the bench. `make help` lists them. Every verb reads DATABASE_URL (and the
# other settings) from the environment or from .env.
SHELL := /bin/bash
TSX   := node_modules/.bin/tsx
# The one entry point: every verb is a row of its table (`make help` prints it). The runbook's
# verbs are in breaking-migrations.mk, the fragment the npm package gives an app's Makefile.
BREAKING_MIGRATIONS       := $(TSX) bin/breaking-migrations.ts
BREAKING_MIGRATIONS_NEEDS := node_modules/.package-lock.json
ROWS  ?= 100000
# npm ci writes this file last; it is older than the lock when the lock changed since (a git checkout,
# a pull). node_modules missing: installed first, before anything runs. Older, or node_modules there
# without this file: every target that needs the packages refuses up front (exit 2, `next: npm ci`).
# npm ci never starts over an installed node_modules, so never in the middle of `make migrate-0001`.
NPM   := node_modules/.package-lock.json

.PHONY: help demo test lint test-e2e test-swarm bench seed baseline postgres-programs setup

help: ## list the verbs (the entry point's table), then these development targets
	@$(BREAKING_MIGRATIONS) help
	@echo; echo 'development:'
	@grep -E '^[a-z0-9%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22 | sed 's/^/  /'

## --- try it (each sets up what it needs: npm packages, PostgreSQL's programs) ---------------
demo: postgres-programs
	@$(BREAKING_MIGRATIONS) demo $(ROWS)

test: postgres-programs lint ## make lint, then the test suite (own throwaway PostgreSQL, or DATABASE_URL's server)
	@node_modules/.bin/tap

# Formatting and lint rules (Biome), the layer rule (dependency-cruiser), lines of at most 120 columns.
lint: $(NPM) ## formatting, lint rules, the layer rule of bin/lib/, lines of at most 120 columns
	@node_modules/.bin/biome ci --reporter=summary . >/dev/null 2>&1 || node_modules/.bin/biome ci --colors=off .
	@node_modules/.bin/depcruise --config .dependency-cruiser.cjs bin verify bench test e2e nextjs
	@git ls-files -z '*.ts' '*.mjs' '*.sql' '*.sh' '*.yml' '*.mk' Makefile .env.example ':!examples/*/node_modules' \
	  | xargs -0 awk \
	  'length > 120 { printf "%s:%d: %d columns (at most 120)\n", FILENAME, FNR, length; bad = 1 } END { exit bad }'

$(NPM): package-lock.json
	@if [ -e $@ ]; then why='is older than package-lock.json (the lock changed since the last npm ci)'; \
	elif [ -e node_modules ] || [ -L node_modules ]; then why='has no .package-lock.json (an unfinished install)'; \
	else why=; fi; \
	if [ -n "$$why" ]; then echo "setup: node_modules $$why; nothing run." >&2; echo '  next: npm ci' >&2; exit 2; fi
	@echo "setup: installing the npm packages (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error

postgres-programs: setup

setup: $(NPM)
	@$(BREAKING_MIGRATIONS) setup

test-e2e: postgres-programs ## Next.js 15.5 and 16 apps + headless Chromium (needs npm ci in examples/*, chromium)
	@node_modules/.bin/tap --include 'e2e/*.test.ts' --include 'e2e/prisma/*.test.ts' --jobs 1

test-swarm: postgres-programs ## a real one-node Docker Swarm (installs docker.io, debootstrap when missing; needs root)
	@bash e2e/swarm/engine.sh && node_modules/.bin/tap --include 'e2e/swarm/*.test.ts' --jobs 1

bench: postgres-programs  # [ROWS=1000000 ROUNDS=5]
	@$(BREAKING_MIGRATIONS) bench $(if $(filter command line,$(origin ROWS)),$(ROWS),1000000) $(or $(ROUNDS),5)

include breaking-migrations.mk

## --- sandbox only ---------------------------------------------------------------------------
baseline: $(NPM)
	@$(BREAKING_MIGRATIONS) baseline

seed: $(NPM)
	@$(BREAKING_MIGRATIONS) seed $(ROWS)
