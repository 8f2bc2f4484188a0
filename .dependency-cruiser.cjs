// The layer rule (issue 20.2): code in bin/lib/ is grouped by concern, and a lower layer never
// imports a higher one or a command. From the bottom:
//   connection  (URL, settings, driver, pg programs, docker, streams, errors)
//   cli         (the process adapter, progress lines, the main-module test)
//   maintenance (lock file, flag, guard)
//   backup      (dump, restore, the backups folder)
//   enum        (the enum spec, its generator, Prisma's files)
//   runbook     (dbmate, migrations, journal, strategies, preflight, failure)
//   dev         (the sandbox)
// then the commands (bin/*.ts), the verifier (verify/), the benchmark (bench/) and the tests.
const layers = ['connection', 'cli', 'maintenance', 'backup', 'enum', 'runbook', 'dev'];
const above = (i) => layers.slice(i + 1).join('|');

module.exports = {
  forbidden: [
    ...layers.slice(0, -1).map((layer, i) => ({
      name: `${layer}-below-${above(i).replaceAll('|', '-')}`,
      comment: `bin/lib/${layer} is below ${above(i)}: it may not import them`,
      severity: 'error',
      from: { path: `^bin/lib/${layer}/` },
      to: { path: `^bin/lib/(${above(i)})/` },
    })),
    {
      name: 'lib-never-imports-a-command',
      comment: 'shared code never imports a command (bin/*.ts), the verifier CLI, the bench or a test',
      severity: 'error',
      from: { path: '^bin/lib/' },
      to: { path: '^(bin/[^/]+\\.ts$|verify/verify\\.ts$|bench/|test/|e2e/)' },
    },
    {
      name: 'lib-files-live-in-a-concern',
      comment: 'every shared file sits in the folder of its concern',
      severity: 'error',
      from: {},
      to: { path: '^bin/lib/[^/]+\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'an import circle shows a type in the wrong place',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^|/)(node_modules|examples|\\.next)/' },
  },
};
