/** ASCII tables for `format=text` query results (`+---+` borders, a header row), as Feldera prints them. */

export function asciiTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => (r[j] ?? '').length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const line = (cells: readonly string[]) =>
    `|${cells.map((c, j) => ` ${c.padEnd(widths[j] as number)} `).join('|')}|`;
  return `${[sep, line(header), sep, ...rows.map(line), sep].join('\n')}\n`;
}
