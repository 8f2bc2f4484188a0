import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
export default {
  // This app sits inside another project that has its own lock file: it is its own root.
  outputFileTracingRoot: here,
  turbopack: { root: here },
};
