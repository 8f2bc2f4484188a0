#!/usr/bin/env tsx
// make maintenance-on / -off / -status: the lock file the web app answers 503 on, plus the database
// guard that holds back every writer that does not read it (the work: bin/lib/maintenance/mode.ts).
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { connectionTarget, settings } from './lib/connection/config.js';
import { describeTarget } from './lib/connection/target.js';
import { maintenanceOff, maintenanceOn, maintenanceStatus } from './lib/maintenance/mode.js';
import { isMain } from './lib/cli/entry.js';

function age(since: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const verb = args[0];
  return {
    name: verb ? `maintenance-${verb}` : 'maintenance',
    usage:
      'usage: breaking-migrations maintenance-on|maintenance-off|maintenance-status [--json] [--exit-code]   ' +
      '(make maintenance-on [REASON=… MESSAGE=… RETRY_AFTER=s] | make maintenance-off | make maintenance-status)',
    help: `
on       write the lock file (JSON: since, reason, retryAfter, by) atomically; again = update it.
         REASON="…" (the operator's, default "maintenance"; never shown to visitors),
         MESSAGE="…" (what visitors read; default: the app's own text), RETRY_AFTER=seconds (300).
         With DATABASE_URL: the flag row breaking_migrations.maintenance (what replicas on other
         nodes read through the app's probe), committed before the guard below.
         With DATABASE_URL (unless DB_GUARD=0): the database's default becomes read-only and its
         other client sessions are ended, so every writer reconnects read-only.
off      turn the guard off (ending sessions opened read-only), then remove the lock. Idempotent.
status   ON, OFF or PARTIAL, with reason and age; --json for scripts.
Where the lock goes: MAINTENANCE_DIR (default ./maintenance) on this host; with APP_CONTAINER
inside that container (default /app/maintenance); with APP_SERVICE inside each running task of
that Swarm service on this node.
Exit codes: 0 done (status: whatever the state), 1 failed, 2 bad input, 3 database unreachable;
status --exit-code: 0 OFF, 1 ON, 4 PARTIAL.`,
    async run(argv) {
      const s = settings();
      // Parsed here, before anything changes: a URL the toolkit cannot honour is refused.
      const target = process.env.DATABASE_URL ? await connectionTarget(`maintenance-${verb}`) : undefined;
      switch (verb) {
        case 'on': {
          const retryAfter = Number(process.env.RETRY_AFTER ?? 300);
          if (!Number.isInteger(retryAfter) || retryAfter < 0)
            throw new Refusal(
              `maintenance-on: RETRY_AFTER must be whole seconds, got "${process.env.RETRY_AFTER}".`,
              'Example: make maintenance-on RETRY_AFTER=600.',
            );
          const r = await maintenanceOn(s, target, {
            reason: process.env.REASON || 'maintenance',
            retryAfter,
            message: process.env.MESSAGE || undefined,
          });
          for (const n of r.notes) console.log(`  note: ${n}`);
          const guard = r.guard
            ? `guard on database ${r.guard.database}: read-only, ${r.guard.ended} session(s) ended`
            : 'no database guard (DATABASE_URL unset or DB_GUARD=0)';
          console.log(`maintenance: ON (${r.updated ? 'updated' : 'started'}; lock ${r.targets.join(', ')}; ${guard})`);
          return;
        }
        case 'off': {
          const r = await maintenanceOff(s, target);
          for (const n of r.notes) console.log(`  note: ${n}`);
          const guard = r.guard
            ? `guard off on database ${r.guard.database}, ${r.guard.ended} read-only session(s) ended`
            : 'no database guard';
          console.log(
            `maintenance: OFF (${r.removed ? 'lock removed' : 'no lock was there'}: ${r.targets.join(', ')}; ${guard})`,
          );
          return;
        }
        case 'status': {
          const st = await maintenanceStatus(s, target);
          if (argv.includes('--json')) console.log(JSON.stringify(st));
          else {
            for (const l of st.locks) {
              console.log(
                l.content
                  ? `  lock ON   ${l.path} (${l.target}): "${l.content.reason}" for ${age(l.content.since)}, ` +
                      `by ${l.content.by}, Retry-After ${l.content.retryAfter} s`
                  : `  lock OFF  ${l.path} (${l.target})`,
              );
            }
            if (st.guard)
              console.log(
                `  guard ${st.guard.readOnly ? 'ON ' : 'OFF'}  ` +
                  `database ${st.guard.database} (${describeTarget(target!)})`,
              );
            if (st.flag !== undefined)
              console.log(
                `  flag  ${st.flag ? 'ON ' : 'OFF'}  ` +
                  'breaking_migrations.maintenance (what replicas on other nodes read)',
              );
            for (const n of st.notes) console.log(`  note: ${n}`);
            const overall = st.partial
              ? 'PARTIAL (some parts on, some off: run maintenance-on or maintenance-off)'
              : st.on
                ? 'ON'
                : 'OFF';
            console.log(`maintenance: ${overall}`);
          }
          if (argv.includes('--exit-code')) return st.partial ? 4 : st.on ? 1 : 0;
          return;
        }
        default:
          throw new Refusal(`maintenance: unknown verb "${verb ?? ''}".`, 'Use on, off or status.');
      }
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));
