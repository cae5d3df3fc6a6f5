/**
 * Feldera's `CONNECTOR_METADATA()` (a column DEFAULT's access to the connector's metadata, a VARIANT), usually
 * subscripted at once: `CONNECTOR_METADATA()['kafka_topic']`. The Postgres grammar has no subscript after a
 * call, so this pre-pass (run by `parse.ts`) rewrites the call `CONNECTOR_METADATA()` (20 characters) into the
 * parenthesized call `(connector_meta()  )` (as long: positions stay), after which a subscript parses;
 * `column-defaults.ts` binds `connector_meta`.
 *
 * State: none. Invariant: the text keeps its length; only `CONNECTOR_METADATA ( )` token runs change.
 */
import type { DialectToken } from './tokens.ts';

/** The function name the rewritten call uses (bound by `column-defaults.ts`). */
export const CONNECTOR_METADATA_FUNCTION = 'connector_meta';

export function rewriteConnectorMetadata(tokens: readonly DialectToken[], chars: string[]): void {
  for (let i = 0; i + 2 < tokens.length; i++) {
    const t = tokens[i] as DialectToken;
    if (t.kind !== 'word' || t.text.toUpperCase() !== 'CONNECTOR_METADATA') continue;
    const open = tokens[i + 1] as DialectToken;
    const close = tokens[i + 2] as DialectToken;
    if (open.text !== '(' || close.text !== ')') continue;
    const text = `(${CONNECTOR_METADATA_FUNCTION}()`;
    const end = close.end;
    if (end - t.start < text.length + 1) continue;
    for (let c = t.start; c < end; c++)
      chars[c] = c - t.start < text.length ? (text[c - t.start] as string) : ' ';
    chars[end - 1] = ')';
  }
}
