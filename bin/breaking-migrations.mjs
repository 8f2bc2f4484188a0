#!/usr/bin/env node
// `npx breaking-migrations <verb>`: the npm package's command. The toolkit is TypeScript run by tsx
// (one of its dependencies): tsx's loader is registered here, then the entry point runs exactly as
// `tsx bin/breaking-migrations.ts <verb>` does in a checkout.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./breaking-migrations.ts');
await run(process.argv.slice(2));
