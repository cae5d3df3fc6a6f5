/**
 * Cuts a byte stream into runs of whole records, for inputs that read files or objects in chunks: bytes are
 * added as they arrive, and whatever ends at a record boundary (a newline outside JSON values or CSV quotes,
 * found by {@link BoundaryScanner}) is handed back to be parsed; the tail of a record cut by a chunk boundary
 * waits for the rest. So the byte offset after each handed-back run always falls between records, and reading
 * can restart there.
 *
 * State: the bytes not yet handed back and the scanner's state over them (only the unscanned suffix is scanned
 * on each `add`, so a long record arriving in many chunks costs linear time).
 */

/** Incremental record-boundary finder over bytes (state carries across chunks). */
export class BoundaryScanner {
  readonly #csv: boolean;
  #depth = 0;
  #inString = false;
  #escape = false;

  constructor(format: 'json' | 'csv') {
    this.#csv = format === 'csv';
  }

  /** Scans `buf[from..)`; returns the index just after the last record boundary in that range, or -1. */
  scan(buf: Uint8Array, from: number): number {
    let last = -1;
    const n = buf.length;
    if (this.#csv) {
      let q = this.#inString;
      for (let i = from; i < n; i++) {
        const c = buf[i] as number;
        if (c === 34) q = !q;
        else if (c === 10 && !q) last = i + 1;
      }
      this.#inString = q;
      return last;
    }
    let depth = this.#depth;
    let inStr = this.#inString;
    let esc = this.#escape;
    for (let i = from; i < n; i++) {
      const c = buf[i] as number;
      if (inStr) {
        if (esc) esc = false;
        else if (c === 92) esc = true;
        else if (c === 34) inStr = false;
      } else if (c === 34) inStr = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) depth = depth > 0 ? depth - 1 : 0;
      else if (c === 10 && depth === 0) last = i + 1;
    }
    this.#depth = depth;
    this.#inString = inStr;
    this.#escape = esc;
    return last;
  }
}

export class RecordBuffer {
  readonly #scanner: BoundaryScanner;
  #pending: Buffer = Buffer.alloc(0);
  #scanned = 0;

  constructor(format: 'json' | 'csv') {
    this.#scanner = new BoundaryScanner(format);
  }

  /** Bytes held back (an incomplete last record). */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /**
   * Adds `chunk` (copied: the caller may reuse it) and returns the whole records now available — bytes ending
   * at a record boundary — or null when no boundary arrived yet.
   */
  add(chunk: Uint8Array): Buffer | null {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const b = this.#scanner.scan(this.#pending, this.#scanned);
    this.#scanned = this.#pending.length;
    if (b <= 0) return null;
    const ready = this.#pending.subarray(0, b);
    this.#pending = this.#pending.subarray(b);
    this.#scanned -= b;
    return ready;
  }

  /** Hands back everything held (a last record without its newline), or null when nothing is held. */
  rest(): Buffer | null {
    if (this.#pending.length === 0) return null;
    const out = this.#pending;
    this.#pending = Buffer.alloc(0);
    this.#scanned = 0;
    return out;
  }
}
