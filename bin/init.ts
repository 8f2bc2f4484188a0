#!/usr/bin/env tsx
// `npx breaking-migrations init`, in the app's repository: the migrations folder, .env.example, the
// make fragment's include, and the Next.js drop-in for the app's Next version. Every file is
// planned first: one that exists with other content refuses the whole init, so nothing is written.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { migrationsDir, repoPath, shownPath } from './lib/connection/config.js';
import { isMain } from './lib/cli/entry.js';

interface Planned {
  path: string; // where, in the app's repository
  text: string;
  append?: true; // the Makefile: the include line is added to the user's own file
}

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

function includeLine(app: string): string {
  const mk = repoPath('breaking-migrations.mk');
  const rel = relative(app, mk);
  return `include ${rel.startsWith('..') ? mk : rel}`;
}

export function plan(app: string): { files: Planned[]; skipped: string[] } {
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
  const migrations = migrationsDir();
  const files: Planned[] = [
    {
      path: join(migrations, 'README.md'),
      text:
        "# This app's breaking migrations\n\nOne folder per migration (`NNNN/expand`, `NNNN/contract`, " +
        '`NNNN/*.sql`), written by `make new-enum-migration ID=NNNN TYPE=… FROM=… TO=… MAP=…` or ' +
        '`make new-migration ID=NNNN NAME=…`, run by `make rehearse-NNNN` then `make migrate-NNNN` ' +
        '(breaking-migrations).\n',
    },
    { path: join(app, '.env.example'), text: readFileSync(repoPath('.env.example'), 'utf8') },
  ];
  const makefile = join(app, 'Makefile');
  const include = includeLine(app);
  const current = existsSync(makefile) ? readFileSync(makefile, 'utf8') : undefined;
  if (current === undefined) {
    files.push({
      path: makefile,
      text: `# The runbook's verbs: make migrate-NNNN, make restore DUMP=…, …\n${include}\n`,
    });
  } else if (current.split('\n').includes(include)) {
    files.push({ path: makefile, text: current }); // has it: left as it is
  } else {
    files.push({ path: makefile, text: `\n# breaking-migrations: the runbook's verbs\n${include}\n`, append: true });
  }
  // Dumps hold personal data and .env the password: neither may reach the app's git history.
  const gitignore = join(app, '.gitignore');
  const ignoreText = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : undefined;
  const ignored = ignoreText?.split('\n') ?? [];
  const missing = ['.env', '/backups/', '/maintenance/'].filter((l) => !ignored.includes(l));
  if (missing.length) {
    const block = `# breaking-migrations: secrets, dumps, the lock\n${missing.join('\n')}\n`;
    const text = `${ignored.length ? '\n' : ''}${block}`;
    files.push({ path: gitignore, text, append: true });
  } else files.push({ path: gitignore, text: ignoreText as string });
  const skipped: string[] = [];
  const dropIn = dropInFor(pkg.dependencies?.next ?? pkg.devDependencies?.next);
  if ('skip' in dropIn) skipped.push(dropIn.skip);
  else {
    const root = existsSync(join(app, 'src/app')) ? join(app, 'src') : app; // Next's src/ layout
    files.push({ path: join(root, dropIn.file), text: readFileSync(repoPath('nextjs', dropIn.file), 'utf8') });
    files.push({
      path: join(root, 'lib/maintenance.ts'),
      text: readFileSync(repoPath('nextjs/maintenance.ts'), 'utf8'),
    });
  }
  return { files, skipped };
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'init',
    usage: 'usage: npx breaking-migrations init   (in the root of the app repository)',
    help: `
Sets the app's repository up for the toolkit, in the working directory:
  MIGRATIONS_DIR (./migrations)  the app's breaking migrations, one folder each (with a README)
  .env.example                   every setting, commented, with its meaning
  Makefile                       \`include …/breaking-migrations.mk\` added (the file created when missing)
  .gitignore                     .env, /backups/, /maintenance/ added when missing (dumps hold personal data)
  proxy.ts | middleware.ts       the maintenance guard for the Next.js version of package.json
  lib/maintenance.ts             (16: proxy.ts, 15.5: middleware.ts; src/ when the app has src/app)
A file already there with the same content is left as it is; one with other content refuses the
whole init (exit 2), naming it, and nothing is written. Exit codes: 0 done, 2 refused.`,
    async run() {
      const app = process.cwd();
      const { files, skipped } = plan(app);
      const differ = files.filter((f) => !f.append && existsSync(f.path) && readFileSync(f.path, 'utf8') !== f.text);
      if (differ.length) {
        throw new Refusal(
          `init: ${differ.map((f) => shownPath(f.path)).join(', ')} exist(s) with other content; nothing was written.`,
          'Move them aside (or merge them by hand from node_modules/breaking-migrations), then run again.',
        );
      }
      let wrote = 0;
      for (const f of files) {
        if (!f.append && existsSync(f.path)) {
          console.log(`  unchanged ${shownPath(f.path)}`);
          continue;
        }
        mkdirSync(dirname(f.path), { recursive: true });
        if (f.append) appendFileSync(f.path, f.text);
        else writeFileSync(f.path, f.text);
        console.log(`  ${f.append ? 'added to' : 'wrote'} ${shownPath(f.path)}`);
        wrote++;
      }
      for (const s of skipped) console.log(`  skipped: ${s}`);
      console.log(
        `init: ${wrote} file(s) written, ${files.length - wrote} already there; next: cp .env.example .env, ` +
          'set DATABASE_URL, then `make new-enum-migration ID=0002 TYPE=… FROM=… TO=… MAP=…`',
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));
