import { defineConfig } from 'vitest/config';

// Tests import the packages' TypeScript sources through the `source` export condition, so a
// change is tested without rebuilding. Worker threads cannot load .ts on Node 20, so the pool
// always runs the built JavaScript: `pnpm test` builds first.
export default defineConfig({
  resolve: { conditions: ['source', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts', 'bench/src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // .ci/run asks for a JSON summary as well, to print the totals as one plain line.
    ...(process.env.WEFT_TEST_JSON ? { reporters: ['default', 'json'], outputFile: { json: process.env.WEFT_TEST_JSON } } : {}),
  },
});
