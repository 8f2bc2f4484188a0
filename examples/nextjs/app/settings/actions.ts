'use server';
// A Server Action that writes: each run appends a line to ACTION_LOG, so a test can tell whether
// it ran during maintenance (it must not).
import { appendFileSync } from 'node:fs';

export async function saveRole(form: FormData): Promise<void> {
  appendFileSync(
    process.env.ACTION_LOG ?? '/tmp/breaking-migrations-example-actions.log',
    `${String(form.get('role'))}\n`,
  );
}
