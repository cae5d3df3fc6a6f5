/** The Postgres AST type and program positions: character offsets ↔ 1-based line and column (see `parse.ts`). */

import type { SourceRange } from './schema.ts';

// biome-ignore lint/suspicious/noExplicitAny: the Postgres AST is an untyped JSON tree; accessors below narrow it.
export type Ast = any;

export class SourceMap {
  readonly #lineStarts: number[] = [0];
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.#lineStarts.push(i + 1);
  }

  /** The program text between two character offsets (as written, before the dialect rewrites). */
  slice(start: number, end: number): string {
    return this.#text.slice(start, end);
  }

  /** 0-based character offset → 1-based line/column. */
  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.#lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#lineStarts[mid] as number) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - (this.#lineStarts[lo] as number) + 1 };
  }

  range(start: number, end: number): SourceRange {
    const a = this.position(start);
    const b = this.position(Math.max(start, end - 1));
    return { startLine: a.line, startColumn: a.column, endLine: b.line, endColumn: b.column };
  }

  /** Postgres reports byte offsets into the UTF-8 text; convert to a character offset. */
  charOffset(byteOffset: number): number {
    let bytes = 0;
    let i = 0;
    const t = this.#text;
    while (i < t.length && bytes < byteOffset) {
      const c = t.codePointAt(i) as number;
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      i += c >= 0x10000 ? 2 : 1;
    }
    return i;
  }
}
