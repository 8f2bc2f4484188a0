// A worker that ignores the lock file and writes straight to the database during the run, for
// every strategy: every write it saw succeed is there afterwards (migrated); the others failed
// with an error it saw.
import t from 'tap';
import pg from 'pg';
import { migrate } from '../bin/migrate.js';
import { STRATEGY_NAMES } from '../bin/lib/runbook/strategy.js';
import { enumLabels, query, seededDatabase, oracleConfig } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';
import type { Target } from '../bin/lib/connection/target.js';

interface Worker {
  stop(): Promise<void>;
  inserted: Map<string, string>;
  emails: Map<string, string>;
  errors: string[];
}

/** Inserts users (old code: USER or ADMIN) and updates e-mails as fast as it can, reconnecting on errors. */
function startWorker(url: Target, existingIds: string[]): Worker {
  const w: Worker = { inserted: new Map(), emails: new Map(), errors: [], stop: async () => {} };
  let running = true;
  const loop = (async () => {
    let client: pg.Client | undefined;
    for (let i = 0; running; i++) {
      try {
        if (!client) {
          client = new pg.Client({ ...oracleConfig(url), application_name: 'worker' });
          // An idle session ended by the guard reports it here, not on the next query.
          client.on('error', (err: { code?: string; message: string }) => w.errors.push(err.code ?? err.message));
          await client.connect();
        }
        if (i % 2 === 0) {
          const id = `w${i}`;
          const role = i % 10 === 0 ? 'ADMIN' : 'USER';
          await client.query(`INSERT INTO "User" (id, email, role) VALUES ($1, $2, $3)`, [
            id,
            `${id}@worker.example`,
            role,
          ]);
          w.inserted.set(id, role); // acknowledged
        } else {
          const id = existingIds[i % existingIds.length];
          const email = `updated-${i}-${id}@worker.example`;
          await client.query(`UPDATE "User" SET email = $2 WHERE id = $1`, [id, email]);
          w.emails.set(id, email); // acknowledged
        }
      } catch (err) {
        w.errors.push((err as { code?: string; message: string }).code ?? (err as Error).message);
        await client?.end().catch(() => {});
        client = undefined;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await client?.end().catch(() => {});
  })();
  w.stop = async () => {
    running = false;
    await loop;
  };
  return w;
}

for (const strategy of STRATEGY_NAMES)
  t.test(`STRATEGY=${strategy}: concurrent writer during the whole run: no acknowledged write is lost`, async (t) => {
    const url = await seededDatabase(t, 20000);
    const ids = (await query<{ id: string }>(url, `SELECT id FROM "User" ORDER BY id LIMIT 500`)).map((r) => r.id);
    const s = tempSettings(url);
    const worker = startWorker(url, ids);
    await new Promise((r) => setTimeout(r, 300)); // the worker is busy before the run starts
    const result = await migrate(url, '0001', s, { strategy, log: () => {} });
    await new Promise((r) => setTimeout(r, 300)); // and after it ends
    await worker.stop();

    t.ok(
      result.checks.every((c) => c.ok),
      'final checks pass (the guard held the worker back)',
    );
    t.ok(
      worker.inserted.size > 10 && worker.emails.size > 10,
      `the worker wrote (${worker.inserted.size} inserts, ${worker.emails.size} updates acknowledged)`,
    );
    t.ok(worker.errors.includes('57P01'), "the guard ended the worker's session when maintenance went on");
    // The rename's window (a catalog relabel, ~0.2 s) can close before the worker has reconnected;
    // the strategies that rewrite rows keep it open long enough for the worker to be refused.
    if (strategy !== 'rename')
      t.ok(worker.errors.includes('25006'), 'the worker saw read-only refusals during maintenance');
    t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN']);

    const rows = await query<{ id: string; email: string; role: string }>(
      url,
      `SELECT id, email, role::text FROM "User" WHERE id = ANY ($1)`,
      [[...worker.inserted.keys(), ...worker.emails.keys()]],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const lost = [...worker.inserted.keys()].filter((id) => !byId.has(id));
    t.same(lost, [], 'every acknowledged insert is there');
    const wrongRole = [...worker.inserted].filter(
      ([id, role]) => byId.get(id)?.role !== (role === 'USER' ? 'EMPLOYEE' : role),
    );
    t.same(wrongRole, [], 'inserted USERs are EMPLOYEE now, ADMINs still ADMIN');
    const staleEmail = [...worker.emails].filter(([id, email]) => byId.get(id)?.email !== email);
    t.same(staleEmail, [], 'every acknowledged update is there');
    const [{ n }] = await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role::text = 'USER'`);
    t.equal(n, 0);
  });
