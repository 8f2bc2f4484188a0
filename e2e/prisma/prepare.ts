// A scratch Prisma 7 app, built once and cached outside the repository (its generated clients are
// TypeScript that neither tsc nor biome must see): prisma, @prisma/client, @prisma/adapter-pg and
// pg from npm, one schema.prisma matching db/baseline ("User": id, email unique, role "Role"),
// generated twice — v1 knows USER, ADMIN; v2 knows USER, EMPLOYEE, MANAGER, ADMIN — offline, with
// a stub schema engine (PRISMA_SCHEMA_ENGINE_BINARY: `generate` only needs the bundled wasm).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const VERSIONS = {
  v1: ['USER', 'ADMIN'],
  v2: ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'],
} as const;
export type Version = keyof typeof VERSIONS;

const range = process.env.PRISMA_E2E_VERSION ?? '7';

const PACKAGE = {
  name: 'bm-prisma-labels-app',
  private: true,
  type: 'module',
  dependencies: {
    prisma: range,
    '@prisma/client': range,
    '@prisma/adapter-pg': range,
    pg: '8',
  },
};

/** The app's schema.prisma, as the baseline's comment gives it, with one client per version. */
export const schemaFor = (v: Version) => `generator client {
  provider = "prisma-client"
  output   = "./generated"
}

datasource db {
  provider = "postgresql"
}

model User {
  id    String @id
  email String @unique
  role  Role
}

enum Role {
${VERSIONS[v].map((l) => `  ${l}`).join('\n')}
}
`;

// Prisma 7 reads the datasource URL from here (not from schema.prisma); generate never connects.
const CONFIG = `import { defineConfig } from 'prisma/config';

export default defineConfig({
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/unused' },
});
`;

export interface PrismaApp {
  dir: string; // the scratch app: package.json, node_modules, v1/, v2/
  client: (v: Version) => string; // the generated client's entry (client.ts)
  prismaVersion: string;
  built: boolean; // false: taken from the cache
  installSeconds?: number;
  generateSeconds?: number;
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): void {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 300_000,
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} in ${cwd} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** The app, from the cache when it is there: `<tmpdir>/breaking-migrations-prisma-e2e/<key>`. */
export function preparePrismaApp(): PrismaApp {
  const key = createHash('sha256')
    .update(JSON.stringify({ PACKAGE, CONFIG, v1: schemaFor('v1'), v2: schemaFor('v2'), node: process.versions.node }))
    .digest('hex')
    .slice(0, 16);
  const root = process.env.PRISMA_E2E_CACHE ?? join(tmpdir(), 'breaking-migrations-prisma-e2e');
  const dir = join(root, key);
  const client = (v: Version) => join(dir, v, 'generated', 'client.ts');
  const version = () =>
    (JSON.parse(readFileSync(join(dir, 'node_modules/prisma/package.json'), 'utf8')) as { version: string }).version;
  if (existsSync(join(dir, 'ready'))) return { dir, client, prismaVersion: version(), built: false };

  // Built beside, then renamed: a run killed half-way, or two runs at once, never leave half an app.
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'package.json'), `${JSON.stringify(PACKAGE, null, 2)}\n`);
  writeFileSync(join(work, 'prisma.config.ts'), CONFIG);
  const t0 = performance.now();
  // --ignore-scripts: @prisma/engines' postinstall would fetch native engines; the client needs none.
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], work);
  const installSeconds = (performance.now() - t0) / 1000;

  const stub = join(work, 'schema-engine-stub.sh');
  writeFileSync(stub, '#!/bin/sh\necho "schema engine stub: not available offline" >&2\nexit 1\n');
  chmodSync(stub, 0o755);
  const t1 = performance.now();
  for (const v of Object.keys(VERSIONS) as Version[]) {
    mkdirSync(join(work, v));
    writeFileSync(join(work, v, 'schema.prisma'), schemaFor(v));
    run(join(work, 'node_modules/.bin/prisma'), ['generate', '--schema', `${v}/schema.prisma`], work, {
      PRISMA_SCHEMA_ENGINE_BINARY: stub,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    });
    if (!existsSync(join(work, v, 'generated', 'client.ts'))) throw new Error(`prisma generate wrote no ${v} client`);
  }
  const generateSeconds = (performance.now() - t1) / 1000;
  writeFileSync(join(work, 'ready'), `${new Date().toISOString()}\n`);
  try {
    renameSync(work, dir);
  } catch (err) {
    if (!existsSync(join(dir, 'ready'))) throw err;
    rmSync(work, { recursive: true, force: true }); // another run finished first: use its app
  }
  return { dir, client, prismaVersion: version(), built: true, installSeconds, generateSeconds };
}
