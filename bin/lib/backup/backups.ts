// List the dumps in BACKUP_DIR (newest first); KEEP=n deletes all but the newest n.
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from './manifest.js';

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
