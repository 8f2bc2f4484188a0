// The programs the toolkit runs through zx (docker, dbmate, the lock file's sh): their output kept
// for the caller, never printed or thrown, and their stdin closed. zx starts each one in bash, and
// a bash whose stdin is a socket (Node's pipes are socket pairs) and whose SHLVL is below 2 (started
// by cron, systemd, `docker exec`, any launcher that is not a shell) reads ~/.bashrc as if sshd had
// started it: pyenv's or nvm's init there cost 140 ms per command, five to ten inside the window,
// and whatever it prints would be read as the program's output. Input travels as an argument.
import { $, type Options } from 'zx';

export const PROGRAM_OPTIONS: Partial<Options> = { nothrow: true, quiet: true, stdio: ['ignore', 'pipe', 'pipe'] };

/** A zx `$` with PROGRAM_OPTIONS. */
export const quiet = $(PROGRAM_OPTIONS);
