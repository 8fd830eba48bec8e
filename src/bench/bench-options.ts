/** The benches' command line: `--name value` pairs, read from process.argv. */

/** The value after `--name`, if given. */
export function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A positive integer option, `fallback` when absent; throws naming the option otherwise. */
export function positiveOption(name: string, fallback: number): number {
  const raw = option(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got ${raw}`);
  return n;
}
