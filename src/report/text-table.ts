/**
 * Rows of cells as aligned columns: plain (two spaces between columns, for a terminal) or a
 * Markdown table (for the model card). The first row is the header.
 */
export function textTable(rows: readonly (readonly string[])[], markdown = false): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]): string =>
    markdown
      ? `| ${r.map((x, c) => x.padEnd(widths[c]!)).join(' | ')} |`
      : r
          .map((x, c) => x.padEnd(widths[c]!))
          .join('  ')
          .trimEnd();
  const out = [line(rows[0]!)];
  if (markdown) out.push(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}
