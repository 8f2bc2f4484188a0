#!/usr/bin/env bash
# The Docker side of `make test-swarm`, idempotent: the engine, a one-node Swarm, and the images
# built without a registry (none is reachable here): a Debian base from debootstrap, a PostgreSQL 15
# image and the example Next.js + Prisma app built as v1, v2 and v3 (the labels their clients know).
# Each step says what it does or that it was already done; an image is rebuilt only when missing
# or when its inputs changed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=/tmp/bm-swarm
mkdir -p "$state"
step() { echo "swarm engine: $*"; }

# --- programs -------------------------------------------------------------------------------
# /usr/local/bin/docker may be a newer client alone: the daemon is what Debian's docker.io adds.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  step "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
else
  step "dockerd and debootstrap are installed"
fi

# --- daemon and swarm -----------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  step "docker daemon answers"
else
  # A daemon still starting up is waited for, not started twice.
  if pgrep -x dockerd >/dev/null; then
    step "waiting for the running dockerd to answer"
  else
    step "starting dockerd (log: $state/dockerd.log)"
    nohup dockerd >"$state/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    tail -20 "$state/dockerd.log"
    echo "dockerd did not answer within 60 s" >&2
    exit 1
  fi
fi
if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ]; then
  step "this node is a swarm manager"
else
  step "docker swarm init"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

# --- images ---------------------------------------------------------------------------------
# The label bm.inputs holds a hash of what went into an image; a different hash rebuilds it.
# The legacy builder (no registry for BuildKit's frontend image) warns on every build: its output
# goes to a log, shown only when the build fails.
build() { # NAME INPUTS DOCKERFILE CONTEXT [BUILD ARGS…]
  local log="$state/build-${1//[:\/]/-}.log"
  DOCKER_BUILDKIT=0 docker build --label "bm.inputs=$2" -t "$1" -f "$3" "${@:5}" "$4" >"$log" 2>&1 \
    || { tail -30 "$log"; exit 1; }
}
label() { docker image inspect -f '{{index .Config.Labels "bm.inputs"}}' "$1" 2>/dev/null || true; }

if docker image inspect bm-swarm-base >/dev/null 2>&1; then
  step "image bm-swarm-base exists"
else
  # The mirror apt uses here is one this machine reaches; debootstrap gets the same.
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ \
    2>/dev/null | grep -oE 'https?://[^ ]+' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root="$state/rootfs"
  rm -rf "$root"
  step "debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include=postgresql-15,ca-certificates bookworm "$root" "$mirror" \
    >"$state/debootstrap.log" 2>&1 || { tail -20 "$state/debootstrap.log"; exit 1; }
  # The package's own cluster and apt's caches are not needed in the image.
  rm -rf "$root/var/lib/postgresql/15/main" "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  step "docker import bm-swarm-base"
  tar -C "$root" -c . | docker import - bm-swarm-base >/dev/null
  rm -rf "$root"
fi

# The images are built on the base: a new base rebuilds them.
base_id=$(docker image inspect -f '{{.Id}}' bm-swarm-base)
pg_inputs=$( (echo "$base_id"; cat "$here/postgres.Dockerfile" "$here/postgres-entrypoint.sh") | sha256sum | cut -c1-16)
if [ "$(label bm-swarm-postgres)" = "$pg_inputs" ]; then
  step "image bm-swarm-postgres is up to date"
else
  step "docker build bm-swarm-postgres"
  ctx=$(mktemp -d "$state/pg-context.XXXXXX")
  cp "$here/postgres-entrypoint.sh" "$ctx/"
  build bm-swarm-postgres "$pg_inputs" "$here/postgres.Dockerfile" "$ctx"
  rm -rf "$ctx"
fi

# The app: what a user deploys (the example Prisma app with the maintenance drop-in and its probe),
# in three builds as three commits of it would be (issue 21.5): v1's client knows USER, ADMIN, v2's
# both sets, v3's only EMPLOYEE, MANAGER, ADMIN. build-app.ts makes all three in one copy; the
# images share bm-swarm-app-base (node, sources, node_modules), each tag adds its .next and its
# generated client and sets APP_BUILD. What `make test-e2e` or a build leaves in examples/nextjs
# (build output, the generated client, its own copy of the drop-in) is no input, nor are READMEs.
app_inputs=$( (cd "$repo" && echo "$base_id" && node --version \
  && find nextjs examples/nextjs e2e/swarm/app.Dockerfile e2e/swarm/app-version.Dockerfile e2e/swarm/build-app.ts \
    \( -name node_modules -o -name .next -o -path examples/nextjs/lib -o -path examples/nextjs/proxy.ts \
       -o -path examples/nextjs/middleware.ts -o -path examples/nextjs/next-env.d.ts \
       -o -path examples/nextjs/generated -o -path examples/nextjs/prisma-version -o -name '*.md' \) -prune \
    -o -type f -print | sort | xargs sha256sum) | sha256sum | cut -c1-16)
versions=(v1 v2 v3)
stale=()
[ "$(label bm-swarm-app-base)" = "$app_inputs" ] || stale+=(bm-swarm-app-base)
for v in "${versions[@]}"; do
  [ "$(label "bm-swarm-app:$v")" = "$app_inputs/$v" ] || stale+=("bm-swarm-app:$v")
done
if ((${#stale[@]} == 0)); then
  step "images bm-swarm-app-base and bm-swarm-app:${versions[*]} are up to date"
else
  # One build makes all four: they are rebuilt together.
  ctx=$(mktemp -d "$state/app-context.XXXXXX")
  step "${stale[*]} missing or out of date: next build of examples/nextjs as ${versions[*]} (in $ctx)"
  "$repo/node_modules/.bin/tsx" "$here/build-app.ts" "$ctx"
  step "docker build bm-swarm-app-base"
  build bm-swarm-app-base "$app_inputs" "$here/app.Dockerfile" "$ctx/base"
  for v in "${versions[@]}"; do
    step "docker build bm-swarm-app:$v (APP_BUILD=$v)"
    build "bm-swarm-app:$v" "$app_inputs/$v" "$here/app-version.Dockerfile" "$ctx/$v" --build-arg "APP_BUILD=$v"
  done
  rm -rf "$ctx"
fi
step "ready: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^bm-swarm-' | tr '\n' ' ')"
