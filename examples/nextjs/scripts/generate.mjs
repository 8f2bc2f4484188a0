// Generates this app's Prisma client for one of its three versions, as three commits of the same
// app would (APP_VERSION, default v2):
//   v1  USER, ADMIN                      the app before the migration
//   v2  USER, EMPLOYEE, MANAGER, ADMIN   reads both label sets: runs before and during 0001
//   v3  EMPLOYEE, MANAGER, ADMIN         the app after the migration
// The version's schema is written to prisma-version/schema.prisma (beside prisma/, so the
// generator's `../generated` is the same folder) and `prisma generate` runs on it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSIONS = {
  v1: ['USER', 'ADMIN'],
  v2: ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'],
  v3: ['EMPLOYEE', 'MANAGER', 'ADMIN'],
};
const version = process.env.APP_VERSION || 'v2';
if (!(version in VERSIONS)) {
  console.error(`generate: APP_VERSION=${version} is not one of ${Object.keys(VERSIONS).join(', ')}`);
  process.exit(2);
}
const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = readFileSync(join(app, 'prisma/schema.prisma'), 'utf8');
const block = `enum Role {\n${VERSIONS[version].map((l) => `  ${l}`).join('\n')}\n}`;
const versioned = schema.replace(/enum Role \{[^}]*\}/, block);
if (!versioned.includes(block)) throw new Error('generate: prisma/schema.prisma has no `enum Role { … }` block');
mkdirSync(join(app, 'prisma-version'), { recursive: true });
writeFileSync(join(app, 'prisma-version/schema.prisma'), versioned);

const r = spawnSync(join(app, 'node_modules/.bin/prisma'), ['generate', '--schema', 'prisma-version/schema.prisma'], {
  cwd: app,
  stdio: 'inherit',
  env: { PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1', ...process.env },
});
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(join(app, 'generated/version.json'), `${JSON.stringify({ version, labels: VERSIONS[version] })}\n`);
console.log(`generate: the ${version} client (Role: ${VERSIONS[version].join(', ')})`);
