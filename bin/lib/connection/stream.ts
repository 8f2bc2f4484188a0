// Run a command whose stdin and/or stdout is a file, with a progress line every second for
// anything slower than that, and its stderr kept (its last 8 KiB) for the error message.
import { spawn } from 'node:child_process';
import { createReadStream, type WriteStream } from 'node:fs';
import type { ToolCommand } from './pgtools.js';

export interface StreamResult {
  code: number | null;
  stderr: string;
  bytes: number;
}

/** `progress` gets the bytes written so far, the seconds, and the bytes read from `input`. */
export async function runStreaming(
  cmd: ToolCommand,
  io: {
    input?: string;
    output?: WriteStream;
    onData?: (chunk: Buffer) => void;
    progress?: (bytes: number, seconds: number, read: number) => void;
  },
): Promise<StreamResult> {
  const child = spawn(cmd.argv[0], cmd.argv.slice(1), {
    env: cmd.env,
    stdio: [io.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let bytes = 0;
  let read = 0;
  let stderr = '';
  const t0 = performance.now();
  const ticker = io.progress
    ? setInterval(() => io.progress!(bytes, (performance.now() - t0) / 1000, read), 5000)
    : undefined;
  if (io.input)
    createReadStream(io.input)
      .on('error', () => child.kill())
      .on('data', (c) => (read += c.length))
      .pipe(child.stdin!)
      .on('error', () => {});
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-8192)));
  child.stdout!.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    io.onData?.(chunk);
    if (io.output && !io.output.write(chunk)) {
      child.stdout!.pause();
      io.output.once('drain', () => child.stdout!.resume());
    }
  });
  if (!io.output) child.stdout!.resume();
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      stderr += `\n${err.message}`;
      resolve(127);
    });
    child.once('close', (c) => resolve(c));
  });
  if (ticker) clearInterval(ticker);
  return { code, stderr: stderr.trim(), bytes };
}

/**
 * Why a PostgreSQL program failed, in one line: every stderr line that carries the server's or
 * the program's error (`ERROR:`, `FATAL:`, `PANIC:`, `error:`), joined; the last line when none
 * does. pg_dump's last line is often only its `detail: Query was: …`, not the reason.
 */
export function failureCause(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /\b(ERROR|FATAL|PANIC):|\berror:/.test(l));
  return [...new Set(errors.length ? errors : lines.slice(-1))].join(' / ');
}

export function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
