import { defineConfig } from 'vitest/config';

/** `npm run bench:kafka`: benchmarks that need the test harness (a real broker); not part of `npm test`. */
export default defineConfig({
  test: { include: ['test/bench/**/*.bench.ts'], testTimeout: 600_000, hookTimeout: 300_000, pool: 'forks' },
});
