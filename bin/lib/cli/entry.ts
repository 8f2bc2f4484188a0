// "Is this module the program being run?" asked once, right. import.meta.url is a percent-encoded
// file URL of the real path; process.argv[1] is a raw path, possibly through a symlink. Comparing
// them as strings fails for a checkout in `space dir` or `café`, and the command then exits 0
// having done nothing.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function isMain(moduleUrl: string, argv1: string | undefined = process.argv[1]): boolean {
  if (!argv1) return false;
  let path = argv1;
  try {
    path = realpathSync(argv1);
  } catch {
    // not a file on disk (e.g. `node -e`): compare as given
  }
  return pathToFileURL(path).href === moduleUrl;
}
