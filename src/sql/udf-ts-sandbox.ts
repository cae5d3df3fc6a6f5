/**
 * Where TypeScript UDFs (the `udf_ts` program field, see `udf-ts.ts`) run: a fresh V8 context made with
 * `node:vm` (`vm.constants.DONT_CONTEXTIFY`, so its global object is an ordinary global of that context, not a
 * proxy over an object of ours), with code generation from strings and WebAssembly disabled. The context holds
 * only JavaScript's built-ins: no `require`, `process`, `import`, timers, network or file system.
 *
 * Isolation rule (what keeps a UDF away from the engine): no object of the engine's realm is ever handed to
 * the context. Arguments cross as primitives (boolean, number, bigint, string, null) or as objects the
 * context's own helpers build (arrays, Maps, Uint8Arrays, and a VARIANT's JSON parsed by the context's own
 * `JSON.parse`), so a UDF cannot walk `.constructor` chains back to
 * the engine's `Function` (the classic vm escape). Results are read back by value and checked against the
 * declared SQL type. vm is not a boundary against hostile code (a UDF can still loop forever or exhaust memory,
 * as a Rust UDF can in Feldera); it keeps a well-meant or buggy UDF from reaching engine internals, the
 * process, the file system or the clock.
 *
 * Determinism: `Math.random`, `Date.now` and `new Date()` without arguments throw inside the context (a UDF's
 * result must depend only on its arguments; replay and incremental retractions rely on it).
 *
 * State: one context per loaded udf_ts source (its module-level variables live there). Invariant: converters
 * map SQL values to TS values and back exactly as the README's "TypeScript UDFs" table says.
 */
import vm from 'node:vm';
import { ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import type { SqlType } from './sql-type.ts';
import { compileCast } from './values/cast.ts';
import { SqlArray, SqlMap, type Variant } from './values/collections.ts';
import { Decimal } from './values/decimal.ts';
import { BIGINT_MAX, BIGINT_MIN, INT_RANGES, type NumberIntKind, UBIGINT_MAX } from './values/integers.ts';
import { variantFromJson, variantJsonText } from './values/nested-json.ts';

/** The file name UDF code runs under (stack frames read `udf_ts:LINE:COLUMN`). */
export const UDF_FILE = 'udf_ts';

/** Context-side helpers: every object a UDF sees is made by these, inside its own realm. */
interface Helpers {
  newArray(): unknown[];
  newMap(): { set(k: unknown, v: unknown): unknown };
  isMap(v: unknown): boolean;
  entries(m: unknown): unknown[][];
  bytes(hex: string): unknown;
  isBytes(v: unknown): boolean;
  hex(v: unknown): string;
  describe(e: unknown): string;
  stack(e: unknown): string;
  /** JSON text → a value of the sandbox's realm (a VARIANT argument). */
  fromJson(text: string): unknown;
  /** A sandbox value → JSON text, or undefined when it has none (a VARIANT result). */
  toJson(v: unknown): string | undefined;
}

const PRELUDE = `'use strict';
(() => {
  const fail = (what) => function () {
    throw new Error(what + ' is not available in a UDF: UDFs must be deterministic (their result may depend only on their arguments)');
  };
  Math.random = fail('Math.random');
  const RealDate = Date;
  RealDate.now = fail('Date.now');
  globalThis.Date = new Proxy(RealDate, {
    construct(t, args, nt) {
      if (args.length === 0) fail('new Date() without arguments')();
      return Reflect.construct(t, args, nt);
    },
    apply: fail('Date()'),
  });
  const hexDigits = '0123456789abcdef';
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  return {
    fromJson: (text) => jsonParse(text),
    toJson: (v) => {
      const t = jsonStringify(v);
      return typeof t === 'string' ? t : undefined;
    },
    newArray: () => [],
    newMap: () => new Map(),
    isMap: (v) => v instanceof Map,
    entries: (m) => Array.from(Map.prototype.entries.call(m), (e) => [e[0], e[1]]),
    bytes: (hex) => {
      const b = new Uint8Array(hex.length / 2);
      for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      return b;
    },
    isBytes: (v) => v instanceof Uint8Array,
    hex: (v) => {
      let s = '';
      for (let i = 0; i < v.length; i++) s += hexDigits[v[i] >> 4] + hexDigits[v[i] & 15];
      return s;
    },
    describe: (e) => {
      try {
        if (e instanceof Error) return (e.name ? e.name + ': ' : '') + String(e.message);
        return 'threw ' + String(e);
      } catch {
        return 'threw a value that cannot be shown';
      }
    },
    stack: (e) => {
      try {
        return e instanceof Error && typeof e.stack === 'string' ? e.stack : '';
      } catch {
        return '';
      }
    },
  };
})()`;

/** A loaded udf_ts module: its context and the functions it exports, by export name. */
export interface Sandbox {
  readonly helpers: Helpers;
  readonly exports: ReadonlyMap<string, unknown>;
}

/** Where in udf_ts a failure happened (1-based), when known. */
export interface UdfPosition {
  readonly line: number;
  readonly column: number;
}

/** The codes of udf_ts errors (all positioned in the udf_ts source when the position is known). */
export type UdfErrorCode = 'UdfSyntaxError' | 'UdfTypeError' | 'UdfMissingExport' | 'UdfRuntimeError';

export function udfError(
  code: UdfErrorCode,
  message: string,
  pos: UdfPosition | null,
  extra: Record<string, unknown> = {},
): ServiceError {
  if (pos === null) return new ServiceError(code, message, { source: UDF_FILE, ...extra });
  return new ServiceError(code, `${message} (udf_ts line ${pos.line}, column ${pos.column})`, {
    source: UDF_FILE,
    line: pos.line,
    column: pos.column,
    ...extra,
  });
}

/** The innermost udf_ts frame of a stack trace. */
export function positionInStack(stack: string): UdfPosition | null {
  const m = new RegExp(`${UDF_FILE}:(\\d+):(\\d+)`).exec(stack);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

/**
 * Runs the module's JavaScript (types already stripped, `export` keywords blanked, positions unchanged) in a
 * new context; `locals` are the top-level names to export, by export name. @throws UdfRuntimeError when the
 * module's top-level code throws; UdfSyntaxError when V8 refuses the code.
 */
export function loadSandbox(js: string, locals: ReadonlyMap<string, string>): Sandbox {
  const context = vm.createContext(vm.constants.DONT_CONTEXTIFY, {
    name: 'holdfast udf_ts',
    codeGeneration: { strings: false, wasm: false },
  });
  const helpers = new vm.Script(PRELUDE, { filename: 'holdfast-udf-prelude' }).runInContext(
    context,
  ) as Helpers;
  const names = [...locals.keys()];
  const assign = names.map((n, i) => `__holdfast_exports[${i}] = ${locals.get(n)};`).join(' ');
  // the wrapper's first line is numbered 0 (lineOffset -1), so udf_ts positions are unchanged
  const code = `(function (__holdfast_exports) { 'use strict';\n${js}\n;${assign}\n})`;
  let script: vm.Script;
  try {
    script = new vm.Script(code, { filename: UDF_FILE, lineOffset: -1 });
  } catch (e) {
    throw udfError('UdfSyntaxError', `udf_ts does not compile: ${(e as Error).message}`, null);
  }
  const out = helpers.newArray();
  try {
    (script.runInContext(context) as (o: unknown) => void)(out);
  } catch (e) {
    throw udfError(
      'UdfRuntimeError',
      `udf_ts failed while loading: ${helpers.describe(e)}`,
      positionInStack(helpers.stack(e)),
    );
  }
  return { helpers, exports: new Map(names.map((n, i) => [n, out[i]])) };
}

type ToTs = (v: Value) => unknown;
type FromTs = (r: unknown) => Value;

/** SQL value → the TS value a UDF receives (README table). */
export function toTsConverter(t: SqlType, h: Helpers): ToTs {
  const inner = toTsNonNull(t, h);
  return (v) => (v === null ? null : inner(v));
}

function toTsNonNull(t: SqlType, h: Helpers): ToTs {
  switch (t.kind) {
    case 'DECIMAL':
      return (v) => (v as Decimal).toString();
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
      // the text CAST(v AS VARCHAR) gives: 'YYYY-MM-DD', 'HH:MM:SS[.ffffff]', 'YYYY-MM-DD HH:MM:SS[.ffffff]'
      return compileCast(t, { kind: 'VARCHAR', nullable: false, length: null }, true);
    case 'BINARY':
    case 'VARBINARY':
      return (v) => h.bytes(v as string);
    case 'ARRAY': {
      const el = toTsConverter(t.element as SqlType, h);
      return (v) => {
        const a = h.newArray();
        for (const x of (v as SqlArray).items) a.push(el(x));
        return a;
      };
    }
    case 'VARIANT':
      // its JSON, parsed in the sandbox (the VARIANT null is the JSON null)
      return (v) => h.fromJson(variantJsonText(v as Variant));
    case 'MAP': {
      const k = toTsConverter(t.key as SqlType, h);
      const val = toTsConverter(t.value as SqlType, h);
      return (v) => {
        const m = h.newMap();
        const sm = v as SqlMap;
        for (let i = 0; i < sm.keys.length; i++) m.set(k(sm.keys[i] as Value), val(sm.values[i] as Value));
        return m;
      };
    }
    default:
      // BOOLEAN, the integers, REAL, DOUBLE, CHAR, VARCHAR, UUID: the engine's value is already the TS value
      return (v) => v;
  }
}

/** A result that does not fit: the message says what was expected. */
class Misfit extends Error {}

function describeValue(r: unknown): string {
  if (r === undefined) return 'undefined';
  if (typeof r === 'string')
    return `the string ${JSON.stringify(r.length > 40 ? `${r.slice(0, 40)}...` : r)}`;
  if (typeof r === 'bigint') return `the bigint ${r}n`;
  if (typeof r === 'number' || typeof r === 'boolean') return `the ${typeof r} ${String(r)}`;
  if (Array.isArray(r)) return 'an array';
  return `a value of type ${typeof r}`;
}

/** The TS value a UDF returned → SQL value of type `t`; throws Misfit when it does not fit. */
export function fromTsConverter(t: SqlType, h: Helpers): FromTs {
  const inner = fromTsNonNull(t, h);
  const nullable = t.nullable;
  return (r) => {
    if (r === null) {
      if (!nullable) throw new Misfit('null where the SQL type is NOT NULL');
      return null;
    }
    return inner(r);
  };
}

function expect(ok: boolean, r: unknown, what: string): void {
  if (!ok) throw new Misfit(`${describeValue(r)} where ${what} is expected`);
}

function fromTsNonNull(t: SqlType, h: Helpers): FromTs {
  const k = t.kind;
  switch (k) {
    case 'VARIANT':
      // any JSON value (its JSON text read as a VARIANT); undefined, a function or a symbol has none
      return (r) => {
        const text = h.toJson(r);
        if (text === undefined)
          throw new Misfit(`${describeValue(r)} where a JSON value (VARIANT) is expected`);
        return variantFromJson(JSON.parse(text));
      };
    case 'BOOLEAN':
      return (r) => {
        expect(typeof r === 'boolean', r, 'a boolean');
        return r as boolean;
      };
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER': {
      const [lo, hi] = INT_RANGES[k as NumberIntKind];
      return (r) => {
        expect(typeof r === 'number' && Number.isInteger(r), r, `an integral number (${k})`);
        if ((r as number) < lo || (r as number) > hi) throw new Misfit(`${r} is out of range for ${k}`);
        return (r as number) === 0 ? 0 : (r as number);
      };
    }
    case 'BIGINT':
    case 'UBIGINT': {
      const lo = k === 'BIGINT' ? BIGINT_MIN : 0n;
      const hi = k === 'BIGINT' ? BIGINT_MAX : UBIGINT_MAX;
      return (r) => {
        expect(typeof r === 'bigint', r, `a bigint (${k})`);
        if ((r as bigint) < lo || (r as bigint) > hi) throw new Misfit(`${r}n is out of range for ${k}`);
        return r as bigint;
      };
    }
    case 'REAL':
      return (r) => {
        expect(typeof r === 'number', r, 'a number (REAL)');
        return Math.fround(r as number);
      };
    case 'DOUBLE':
      return (r) => {
        expect(typeof r === 'number', r, 'a number (DOUBLE)');
        return r as number;
      };
    case 'DECIMAL': {
      const p = t.precision;
      const s = t.scale ?? 0;
      return (r) => {
        expect(typeof r === 'string', r, 'a decimal string (DECIMAL)');
        const d = Decimal.parse(r as string, 'UdfRuntimeError');
        return p == null ? d : d.withTypmod(p, s, 'UdfRuntimeError');
      };
    }
    case 'CHAR':
    case 'VARCHAR':
    case 'UUID': {
      const cast =
        k === 'VARCHAR' && t.length == null
          ? null
          : compileCast({ kind: 'VARCHAR', nullable: false, length: null }, t, true);
      return (r) => {
        expect(typeof r === 'string', r, `a string (${k})`);
        return cast ? cast(r as string) : (r as string);
      };
    }
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP': {
      const cast = compileCast({ kind: 'VARCHAR', nullable: false, length: null }, t, true);
      return (r) => {
        expect(typeof r === 'string', r, `a string (${k})`);
        return cast(r as string);
      };
    }
    case 'BINARY':
    case 'VARBINARY': {
      const cast =
        t.length == null ? null : compileCast({ kind: 'VARBINARY', nullable: false, length: null }, t, true);
      return (r) => {
        expect(h.isBytes(r), r, `a Uint8Array (${k})`);
        const hex = h.hex(r);
        return cast ? cast(hex) : hex;
      };
    }
    case 'ARRAY': {
      const el = fromTsConverter(t.element as SqlType, h);
      return (r) => {
        expect(Array.isArray(r), r, 'an array (ARRAY)');
        const a = r as unknown[];
        const items: Value[] = new Array(a.length);
        for (let i = 0; i < a.length; i++) {
          try {
            items[i] = el(a[i]);
          } catch (e) {
            if (e instanceof Misfit) throw new Misfit(`element ${i + 1}: ${e.message}`);
            throw e;
          }
        }
        return new SqlArray(items);
      };
    }
    case 'MAP': {
      const kc = fromTsConverter(t.key as SqlType, h);
      const vc = fromTsConverter(t.value as SqlType, h);
      return (r) => {
        expect(h.isMap(r), r, 'a Map (MAP)');
        const entries = h.entries(r);
        const out: Array<[Value, Value]> = [];
        for (const e of entries) out.push([kc(e[0]), vc(e[1])]);
        return SqlMap.of(out);
      };
    }
    default:
      throw new ServiceError('SqlUnsupported', `a TypeScript UDF cannot return ${k}`, {});
  }
}

export { Misfit };
