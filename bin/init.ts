#!/usr/bin/env tsx
// `npx breaking-migrations init`, in the app's repository: the migrations folder, .env.example, the
// make fragment's include, .gitignore's lines, and the Next.js drop-in for the app's Next version.
// Re-runnable: a file of the app's (Makefile, .gitignore, .env.example) gets only the lines it lacks,
// once; a drop-in the team merged into its own file is kept when that file carries the comment
// `breaking-migrations: merged <id>`. Every change is planned first: a refusal writes nothing.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { inCheckout, main, Refusal, type Command } from './lib/cli/cli.js';
import { migrationsDir, repoPath, shownPath } from './lib/connection/config.js';
import { isMain } from './lib/cli/entry.js';

/** One file's part in the init: written whole, lines added to the app's own file, or left as it is. */
export interface Step {
  path: string; // where, in the app's repository
  act: 'write' | 'append' | 'keep';
  text: string; // write: the whole file; append: the lines added; keep: ''
  note?: string; // what was added, or why a file that differs is kept
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
const version = () => (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

/** The drop-in for a Next.js version range as package.json gives it ("16.4.6", "^15.5.0", "~15.5"). */
export function dropInFor(range: string | undefined): { file: string; note?: string } | { skip: string } {
  if (!range) return { skip: 'no next in package.json: no maintenance page drop-in (docs/app-side.md)' };
  const m = /(\d+)(?:\.(\d+))?/.exec(range);
  if (!m)
    return { skip: `next "${range}" is not a version this can read: copy the drop-in by hand (docs/app-side.md)` };
  const [major, minor] = [Number(m[1]), Number(m[2] ?? 0)];
  if (major >= 16) return { file: 'proxy.ts' };
  if (major === 15 && minor >= 5) return { file: 'middleware.ts' };
  return { skip: `Next.js ${major}.${minor} has no Node.js middleware (15.5 or later): no drop-in (docs/app-side.md)` };
}

/**
 * This package's folder as the app reaches it: the nearest node_modules/breaking-migrations at or
 * above the app that is this very copy (an npm workspace installs it at the root), else a clone of
 * the repository run in place. A copy from npx's cache is neither: the include would point into it.
 */
export function packageHome(app: string): string {
  const self = realpathSync(repoPath());
  for (let dir = app; ; dir = dirname(dir)) {
    const there = join(dir, 'node_modules', 'breaking-migrations');
    if (existsSync(there) && realpathSync(there) === self) return there;
    if (dirname(dir) === dir) break;
  }
  if (inCheckout()) return self;
  throw new Refusal(
    `init: breaking-migrations is not installed in ${app} nor in a folder above it (this copy runs from ${self}); ` +
      'nothing was written.',
    'Install it in the app first (`npm install --save-dev breaking-migrations`), then `npx breaking-migrations init`.',
  );
}

/** The Makefile's include of the fragment, relative to the app's folder: make cannot quote a path. */
export function includeLine(app: string, home: string): string {
  const path = relative(app, join(home, 'breaking-migrations.mk'));
  if (/[\s#$]/.test(path)) {
    throw new Refusal(
      `init: the Makefile would include "${path}", and make cannot include a path with a space, # or $; ` +
        'nothing was written.',
      'Install the package in the app (`npm install --save-dev breaking-migrations`: node_modules/… has none), ' +
        'or move this copy to a path without one; then run init again.',
    );
  }
  return `include ${path}`;
}

/** Our lines added at the end of a file of the app's, after a blank line, under one comment. */
function block(current: string, comment: string, lines: string): string {
  const gap = current === '' ? '' : current.endsWith('\n') ? '\n' : '\n\n';
  return `${gap}# ${comment}\n${lines}\n`;
}

const SETTING = /^\s*(?:#\s*)?(?:export\s+)?([A-Z][A-Z0-9_]*)=/;
const settingOf = (line: string) => SETTING.exec(line)?.[1];

/** The settings of `ours` that `theirs` lacks (set or commented out), each group under its comment. */
export function missingSettings(ours: string, theirs: string): string[] {
  const have = new Set(theirs.split('\n').map(settingOf));
  const out: string[] = [];
  let about: string[] = []; // the comment above the current group of settings
  let previous: string | undefined; // the setting on the line before, if any
  for (const line of ours.split('\n')) {
    const key = settingOf(line);
    if (key && !have.has(key)) {
      out.push(...about, line);
      about = []; // shown once per group
    } else if (!key && line.trim() === '') {
      if (out.length && out.at(-1) !== '') out.push(''); // ours' sections stay apart
      about = [];
    } else if (!key) {
      if (previous) about = []; // a comment after a setting starts the next group
      about.push(line);
    }
    previous = key;
  }
  while (out.at(-1) === '') out.pop();
  return out;
}

function envExample(app: string): Step {
  const path = join(app, '.env.example');
  const ours = readFileSync(repoPath('.env.example'), 'utf8');
  const current = read(path);
  if (current === undefined) return { path, act: 'write', text: ours };
  const lines = missingSettings(ours, current);
  const keys = lines.map(settingOf).filter(Boolean);
  if (!keys.length) return { path, act: 'keep', text: '' };
  const comment = `breaking-migrations ${version()}: the settings this file lacked (npx breaking-migrations init)`;
  return { path, act: 'append', text: block(current, comment, lines.join('\n')), note: keys.join(', ') };
}

const INCLUDES = /^[ \t]*-?s?include[ \t]+\S*breaking-migrations\.mk[ \t]*$/m;

/** The app's Makefile (make reads GNUmakefile, makefile, Makefile: the first one there) with the include. */
function makefile(app: string, include: string): Step {
  const name = ['GNUmakefile', 'makefile', 'Makefile'].find((n) => existsSync(join(app, n))) ?? 'Makefile';
  const path = join(app, name);
  const current = read(path);
  if (current === undefined) {
    const text =
      "# The app's Makefile: the runbook's verbs of breaking-migrations (make migrate-NNNN, make restore DUMP=…).\n" +
      `${include}\n\n# \`make\` alone lists them.\n.PHONY: help\nhelp:\n\t@$(BREAKING_MIGRATIONS) help\n`;
    return { path, act: 'write', text };
  }
  const has = INCLUDES.exec(current)?.[0].trim();
  if (has === include) return { path, act: 'keep', text: '' };
  if (has) return { path, act: 'keep', text: '', note: `it has \`${has}\` (init would write \`${include}\`)` };
  const comment = "breaking-migrations: the runbook's verbs (`npx breaking-migrations help` lists them)";
  return { path, act: 'append', text: block(current, comment, include), note: 'the include' };
}

// Dumps hold personal data and .env the password: neither may reach the app's git history.
const IGNORED = ['.env', '/backups/', '/maintenance/'];
const bare = (line: string) => line.trim().replace(/^\//, '').replace(/\/$/, '');

function gitignore(app: string): Step {
  const path = join(app, '.gitignore');
  const current = read(path);
  const have = new Set((current ?? '').split('\n').map(bare));
  const missing = IGNORED.filter((l) => !have.has(bare(l)));
  if (!missing.length) return { path, act: 'keep', text: '' };
  const text = block(current ?? '', 'breaking-migrations: secrets, dumps, the lock', missing.join('\n'));
  return { path, act: current === undefined ? 'write' : 'append', text, note: missing.join(', ') };
}

const MERGED = /breaking-migrations: merged(?: ([0-9a-f]{8}))?/;
/** The id a merged drop-in's marker names: the first 8 hex digits of the SHA-256 of the drop-in merged. */
export const dropInId = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** A drop-in: written when missing, kept when the same or marked merged; otherwise a conflict (undefined). */
function dropIn(path: string, ours: string, source: string): Step | undefined {
  const current = read(path);
  if (current === undefined) return { path, act: 'write', text: ours };
  if (current === ours) return { path, act: 'keep', text: '' };
  const marker = MERGED.exec(current);
  if (!marker) return undefined;
  const id = dropInId(ours);
  const note =
    marker[1] === id
      ? `merged (breaking-migrations: merged ${id})`
      : `merged; ${source} is now ${id}${marker[1] ? `, the marker says ${marker[1]}` : ''}: ` +
        `merge what changed, then mark it \`breaking-migrations: merged ${id}\``;
  return { path, act: 'keep', text: '', note };
}

/** Where Next.js reads proxy.ts / middleware.ts: src/ when app/ or pages/ is there and not at the root. */
function nextRoot(app: string): string {
  const has = (dir: string) => existsSync(join(app, dir));
  return !has('app') && !has('pages') && (has('src/app') || has('src/pages')) ? join(app, 'src') : app;
}

export function plan(app: string): { steps: Step[]; skipped: string[] } {
  const pkgFile = join(app, 'package.json');
  if (!existsSync(pkgFile)) {
    throw new Refusal(
      `init: ${app} has no package.json; nothing was written.`,
      "Run it at the root of the app's repository (where package.json is).",
    );
  }
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  } catch (err) {
    throw new Refusal(`init: package.json is not valid JSON (${(err as Error).message}).`, 'Fix it, then run again.');
  }
  const home = packageHome(app);
  const readme = join(migrationsDir(), 'README.md');
  const steps: Step[] = [
    existsSync(readme)
      ? { path: readme, act: 'keep', text: '' }
      : {
          path: readme,
          act: 'write',
          text:
            "# This app's breaking migrations\n\nOne folder per migration (`NNNN/expand`, `NNNN/contract`, " +
            '`NNNN/*.sql`), written by `make new-enum-migration ID=NNNN TYPE=… FROM=… TO=… MAP=…` or ' +
            '`make new-migration ID=NNNN NAME=…`, run by `make rehearse-NNNN` then `make migrate-NNNN` ' +
            '(breaking-migrations).\n',
        },
    envExample(app),
    makefile(app, includeLine(app, home)),
    gitignore(app),
  ];
  const skipped: string[] = [];
  const found = dropInFor(pkg.dependencies?.next ?? pkg.devDependencies?.next);
  if ('skip' in found) skipped.push(found.skip);
  else {
    const root = nextRoot(app);
    const differ: { path: string; id: string }[] = [];
    for (const [path, file] of [
      [join(root, found.file), found.file],
      [join(root, 'lib/maintenance.ts'), 'maintenance.ts'],
    ]) {
      const ours = readFileSync(repoPath('nextjs', file), 'utf8');
      const step = dropIn(path, ours, shownPath(join(home, 'nextjs', file)));
      if (step) steps.push(step);
      else differ.push({ path, id: dropInId(ours) });
    }
    if (differ.length) {
      const ids = differ.map((d) => `${shownPath(d.path)}: ${d.id}`).join(', ');
      throw new Refusal(
        `init: ${differ.map((d) => shownPath(d.path)).join(', ')} exist(s) with other content; nothing was written.`,
        `Move them aside, or merge ours (${shownPath(join(home, 'nextjs'))}/) into them and mark each with the ` +
          `comment \`breaking-migrations: merged <id>\` (${ids}) so that init keeps them; then run it again.`,
      );
    }
  }
  return { steps, skipped };
}

/** The next free migration number of MIGRATIONS_DIR (0001 in a new app). */
function nextId(): string {
  const dir = migrationsDir();
  const ids = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{4}$/.test(f)) : [];
  return String(Math.max(0, ...ids.map(Number)) + 1).padStart(4, '0');
}

/** What to do after init: .env first (copied, or given the URL it lacks), then the first migration. */
export function nextStep(app: string): string {
  const env = read(join(app, '.env'));
  const id = nextId();
  const enumMigration = `make new-enum-migration ID=${id} TYPE=… FROM=… TO=… MAP=…`;
  const then = `\`${enumMigration}\` (or \`make new-migration ID=${id} NAME=…\`)`;
  if (env === undefined) return `cp .env.example .env, set DATABASE_URL in it, then ${then}`;
  if (!/^[ \t]*(?:export[ \t]+)?DATABASE_URL=/m.test(env)) {
    return `add DATABASE_URL to .env (its line is in .env.example), then ${then}`;
  }
  return then;
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'init',
    usage: "usage: npx breaking-migrations init   (in the app's folder, where its package.json is)",
    help: `
Sets the app's repository up for the toolkit, in the working directory:
  MIGRATIONS_DIR (./migrations)  the app's breaking migrations, one folder each (with a README)
  .env.example                   every setting, commented, with its meaning; an existing file gets
                                 only the settings it lacks, appended once
  Makefile                       \`include node_modules/breaking-migrations/breaking-migrations.mk\`
                                 (relative: ../../node_modules/… from a package of an npm workspace),
                                 appended once; the file, with a \`help\` target, created when missing
  .gitignore                     .env, /backups/, /maintenance/ added when missing (dumps hold personal data)
  proxy.ts | middleware.ts       the maintenance guard for the Next.js version of package.json
  lib/maintenance.ts             (16: proxy.ts, 15.5: middleware.ts; in src/ when the app's app/ is there)
Run it again at will, after an upgrade too: it adds only what is missing. A drop-in already there
with the same content is left as it is; one with other content refuses the whole init (exit 2,
naming it and the marker to add), nothing written. Merge ours into yours and add that marker, a
comment \`breaking-migrations: merged <id>\`, and init keeps your file; when the package's drop-in
changes, init says so (its new id). Exit codes: 0 done, 2 refused.`,
    async run() {
      const app = process.cwd();
      const { steps, skipped } = plan(app);
      const count = { write: 0, append: 0, keep: 0 };
      for (const s of steps) {
        count[s.act]++;
        const shown = shownPath(s.path);
        if (s.act === 'keep') {
          console.log(s.note ? `  kept ${shown}: ${s.note}` : `  unchanged ${shown}`);
          continue;
        }
        mkdirSync(dirname(s.path), { recursive: true });
        if (s.act === 'append') appendFileSync(s.path, s.text);
        else writeFileSync(s.path, s.text);
        console.log(s.act === 'append' ? `  added to ${shown}: ${s.note}` : `  wrote ${shown}`);
      }
      for (const s of skipped) console.log(`  skipped: ${s}`);
      console.log(
        `init: ${count.write} file(s) written, ${count.append} added to, ${count.keep} left as they were; ` +
          `next: ${nextStep(app)}`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));
