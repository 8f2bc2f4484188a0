#!/usr/bin/env tsx
// List the dumps in BACKUP_DIR (newest first); KEEP=n deletes all but the newest n.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main, Refusal, type Command } from './lib/cli.js';
import { settings } from './lib/config.js';
import { mb } from './lib/stream.js';
import type { Manifest } from './dump.js';
import { isMain } from './lib/entry.js';

export interface Backup {
  path: string;
  bytes: number;
  createdAt: string;
  database: string;
  checksum: boolean;
}

const DUMP = /^backup_(.+)_(\d{8}_\d{6})\.dump$/;

export function listBackups(dir: string): Backup[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => DUMP.test(f))
    .map((f) => {
      const path = join(dir, f);
      const manifestFile = `${path}.manifest.json`;
      const manifest = existsSync(manifestFile)
        ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest)
        : undefined;
      return {
        path,
        bytes: statSync(path).size,
        createdAt: manifest?.createdAt ?? statSync(path).mtime.toISOString(),
        database: manifest?.database ?? DUMP.exec(f)![1],
        checksum: existsSync(`${path}.sha256`),
      };
    })
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Deletes every dump but the newest `keep`, each with its checksum and manifest. */
export function pruneBackups(dir: string, keep: number): Backup[] {
  const old = listBackups(dir).slice(keep);
  for (const b of old)
    for (const f of [b.path, `${b.path}.sha256`, `${b.path}.manifest.json`]) if (existsSync(f)) unlinkSync(f);
  return old;
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  return {
    name: 'backups',
    usage: 'usage: tsx bin/backups.ts [--keep N]   (make backups [KEEP=n])',
    help: `
Lists the dumps in BACKUP_DIR (default ./backups), newest first: time, size, database, and
whether its checksum file is there. With KEEP=n (or --keep n), deletes all but the newest n,
each with its .sha256 and .manifest.json. Exit codes: 0 ok, 2 bad input.`,
    async run(argv) {
      const dir = resolve(settings().backupDir);
      const ki = argv.indexOf('--keep');
      const keepArg = ki >= 0 ? argv[ki + 1] : process.env.KEEP;
      if (keepArg !== undefined && keepArg !== '') {
        const keep = Number(keepArg);
        if (!Number.isInteger(keep) || keep < 1)
          throw new Refusal(
            `backups: KEEP must be a whole number of at least 1, got "${keepArg}".`,
            'Example: make backups KEEP=5.',
          );
        for (const b of pruneBackups(dir, keep)) console.log(`  deleted ${b.path}`);
      }
      const list = listBackups(dir);
      for (const b of list)
        console.log(
          `  ${b.createdAt}  ${mb(b.bytes).padStart(10)}  ${b.database.padEnd(16)} ${b.checksum ? '' : '(no checksum) '}${b.path}`,
        );
      console.log(`backups: ${list.length} dump(s) in ${dir}, ${mb(list.reduce((a, b) => a + b.bytes, 0))}`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));
