/**
 * Trailing commas in the JSON of a `'connectors'` WITH property: Feldera's own demo programs write lists and
 * objects with a comma before the closing `]` or `}` (`[{...}, {...},]`), which strict JSON refuses. The text
 * is rewritten without those commas when, and only when, that makes it valid JSON; anything else is left as
 * written, so a real mistake is still reported (SqlPropertyError) at its place.
 *
 * State: none. Invariants: only a comma after a value and before (after whitespace) `]` or `}`, outside a
 * string, is removed (`[,]` stays invalid); string contents are never changed.
 */

/** `text` with trailing commas removed if that makes it valid JSON, else `text` unchanged. */
export function withoutTrailingCommas(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    // fall through: try without trailing commas
  }
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inString) {
      out += ch;
      if (ch === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ',' && /[^\s[{,]\s*$/.test(out)) {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (text[j] === ']' || text[j] === '}') continue;
    }
    out += ch;
  }
  try {
    JSON.parse(out);
    return out;
  } catch {
    return text;
  }
}
