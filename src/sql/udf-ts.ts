/**
 * TypeScript UDFs: SQL functions declared without a body (`CREATE FUNCTION f(x INT) RETURNS INT;`, Feldera's
 * Rust UDF declarations) implemented by functions the program's `udf_ts` field exports (Holdfast's
 * equivalent of Feldera's `udf_rust`).
 *
 * While the program's statements are defined, `udf.ts` declares each bodiless function here
 * ({@link ExternalFunctions.declare}); once all are known, {@link ExternalFunctions.load} compiles udf_ts:
 * 1. parse it with the `typescript` compiler API (syntax errors: UdfSyntaxError at the udf_ts position);
 *    refuse imports, `export default` and syntax that is not erasable (enum, namespace, parameter properties);
 * 2. type-check it under `strict`, with only the ES2022 library (no Node or DOM types, so `process` or
 *    `require` is a type error): UdfTypeError at the position;
 * 3. for each declaration, find the export named as the function is written in the SQL (or its lower-case
 *    form; none: UdfMissingExport at the SQL position), check its arity, then check that it is assignable to
 *    the function type the SQL declaration maps to (`tsSignature`; README "TypeScript UDFs"), in a generated
 *    checking file: UdfTypeError at the export's position;
 * 4. strip the types with Node's own stripper (positions unchanged) and run the module in a sandbox
 *    (`udf-ts-sandbox.ts`); a call converts the arguments, calls the export, and converts and checks the
 *    result. A throw, or a result that does not fit the SQL type, is UdfRuntimeError with the udf_ts position
 *    of the innermost udf_ts frame (the step fails, as a panicking Rust UDF fails a Feldera pipeline).
 *
 * UDFs must be deterministic (invariant 1): the sandbox makes the clock and Math.random throw; the rest
 * (e.g. module-level state) is the author's responsibility, as in Feldera.
 *
 * State: the declarations, and after `load` their implementations (closures over the sandbox). The `typescript` module is loaded on first use (only
 * programs with udf_ts pay for it); its parsed library files are cached per process.
 */
import { createHash } from 'node:crypto';
import * as nodeModule from 'node:module';
import { ServiceError } from '../errors/service-error.ts';
import type { Value } from '../zset/value.ts';
import { type SqlType, typeToSql } from './sql-type.ts';
import {
  fromTsConverter,
  loadSandbox,
  Misfit,
  positionInStack,
  type Sandbox,
  toTsConverter,
  type UdfPosition,
  udfError,
} from './udf-ts-sandbox.ts';

type TS = typeof import('typescript');
type SourceFile = import('typescript').SourceFile;

export interface ExternalParam {
  readonly name: string;
  readonly type: SqlType;
}

export interface ExternalSignature {
  readonly name: string;
  readonly params: readonly ExternalParam[];
  readonly returns: SqlType;
}

/** Evaluates a call with its arguments' values. */
export type ExternalImpl = (args: readonly Value[]) => Value;

/** Makes an error positioned at the SQL declaration. */
export type SqlErrorAt = (code: 'UdfMissingExport' | 'SqlUnsupported', message: string) => ServiceError;

interface Declared {
  readonly sig: ExternalSignature;
  readonly errorAt: SqlErrorAt;
  impl: ExternalImpl | null;
}

const TS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with as implements interface let package private protected public static yield await any boolean ' +
    'number string symbol type of unknown never bigint object'
  ).split(' '),
);

/** The TS type a value of SQL type `t` is (README table); @throws Error naming the unsupported type. */
export function tsType(t: SqlType): string {
  const base = tsTypeNonNull(t);
  return t.nullable ? `${base} | null` : base;
}

function tsTypeNonNull(t: SqlType): string {
  switch (t.kind) {
    case 'BOOLEAN':
      return 'boolean';
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'REAL':
    case 'DOUBLE':
      return 'number';
    case 'BIGINT':
    case 'UBIGINT':
      return 'bigint';
    case 'DECIMAL':
    case 'CHAR':
    case 'VARCHAR':
    case 'UUID':
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP':
      return 'string';
    case 'BINARY':
    case 'VARBINARY':
      return 'Uint8Array';
    case 'ARRAY':
      return `Array<${tsType(t.element as SqlType)}>`;
    case 'MAP':
      return `Map<${tsType(t.key as SqlType)}, ${tsType(t.value as SqlType)}>`;
    case 'VARIANT':
      return 'unknown'; // its JSON value (JSON.parse of TO_JSON's text)
    default:
      throw new Error(`${typeToSql(t)} is not supported in a function implemented in udf_ts`);
  }
}

function paramName(p: ExternalParam, i: number): string {
  return /^[A-Za-z_$][\w$]*$/.test(p.name) && !TS_RESERVED.has(p.name.toLowerCase()) ? p.name : `arg${i + 1}`;
}

/** `(x: number | null, s: string) => number | null`: the function type an export must be assignable to. */
export function tsSignature(sig: ExternalSignature): string {
  const ps = sig.params.map((p, i) => `${paramName(p, i)}: ${tsType(p.type)}`).join(', ');
  return `(${ps}) => ${tsType(sig.returns)}`;
}

function sqlTypeText(t: SqlType): string {
  return t.nullable ? typeToSql(t) : `${typeToSql(t)} NOT NULL`;
}

function sqlSignature(sig: ExternalSignature): string {
  const ps = sig.params.map((p) => `${p.name} ${sqlTypeText(p.type)}`).join(', ');
  return `${sig.name}(${ps}) RETURNS ${sqlTypeText(sig.returns)}`;
}

let tsPromise: Promise<TS> | undefined;
function loadTypeScript(): Promise<TS> {
  tsPromise ??= import('typescript').then(
    (m) => ((m as { default?: TS }).default ?? m) as TS,
    () => {
      tsPromise = undefined;
      throw new ServiceError(
        'SqlUnsupported',
        "udf_ts needs the 'typescript' package, which this installation lacks: install it beside holdfast (npm install typescript)",
        { construct: 'udf_ts' },
      );
    },
  );
  return tsPromise;
}
const libCache = new Map<string, SourceFile | undefined>();

const USER_FILE = '/holdfast-udf/udf.ts';
const CHECK_FILE = '/holdfast-udf/check.ts';

/** The bodiless functions of one program and, after {@link load}, their implementations. */
export class ExternalFunctions {
  readonly #source: string;
  readonly #declared = new Map<string, Declared>();
  /** SHA-256 of udf_ts (part of each TS function's definition: a changed udf_ts changes the views using it). */
  readonly fingerprint: string;

  constructor(udfTs: string) {
    this.#source = udfTs;
    this.fingerprint = createHash('sha256').update(udfTs).digest('hex').slice(0, 16);
  }

  get size(): number {
    return this.#declared.size;
  }

  /**
   * Declares a bodiless function; returns its evaluator (usable once {@link load} has run).
   * @throws Error when a parameter or result type has no TS mapping (the caller reports it at the SQL position).
   */
  declare(sig: ExternalSignature, errorAt: SqlErrorAt): ExternalImpl {
    for (const p of sig.params) tsType(p.type);
    tsType(sig.returns);
    const d: Declared = { sig, errorAt, impl: null };
    this.#declared.set(sig.name.toLowerCase(), d);
    return (args) => {
      const f = d.impl;
      if (f === null) throw new Error(`function ${sig.name} called before udf_ts was loaded`);
      return f(args);
    };
  }

  /** TS stubs of every declared function (Feldera's `program_info.udf_stubs`, for udf_ts). */
  stubs(): string {
    let out = '';
    for (const { sig } of this.#declared.values()) {
      const ps = sig.params.map((p, i) => `${paramName(p, i)}: ${tsType(p.type)}`).join(', ');
      out += `// ${sqlSignature(sig)}\nexport function ${sig.name}(${ps}): ${tsType(sig.returns)} {\n  throw new Error('${sig.name} is not implemented');\n}\n`;
    }
    return out;
  }

  /** Compiles, checks and loads udf_ts (steps 1-4 of the header). No-op when udf_ts is blank and nothing is declared. */
  async load(): Promise<void> {
    if (this.#declared.size === 0 && this.#source.trim() === '') return;
    if (this.#source.trim() === '') {
      const first = this.#declared.values().next().value as Declared;
      throw first.errorAt(
        'UdfMissingExport',
        `function ${first.sig.name} is declared without a body, and the program has no udf_ts: implement it in the program's udf_ts field (export function ${first.sig.name}${tsSignature(first.sig).replace(' =>', ':')} { ... }), or give it a body (AS expression)`,
      );
    }
    const ts = await loadTypeScript();
    const options: import('typescript').CompilerOptions = {
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      allowImportingTsExtensions: true,
      lib: ['lib.es2022.d.ts'],
      types: [],
      noEmit: true,
      skipLibCheck: true,
    };
    const user = ts.createSourceFile(USER_FILE, this.#source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const pos = (at: number): UdfPosition => {
      const lc = user.getLineAndCharacterOfPosition(at);
      return { line: lc.line + 1, column: lc.character + 1 };
    };
    const files = new Map<string, SourceFile>([[USER_FILE, user]]);
    const base = ts.createCompilerHost(options);
    const host: import('typescript').CompilerHost = {
      ...base,
      getSourceFile(name, lang) {
        const own = files.get(name);
        if (own) return own;
        if (!libCache.has(name)) libCache.set(name, base.getSourceFile(name, lang));
        return libCache.get(name);
      },
      fileExists: (name) => files.has(name) || base.fileExists(name),
      directoryExists: (dir) => dir === '/holdfast-udf' || (base.directoryExists?.(dir) ?? false),
      realpath: (p) => (files.has(p) ? p : (base.realpath?.(p) ?? p)),
      readFile: (name) => files.get(name)?.text ?? base.readFile(name),
      writeFile: () => {},
    };
    let program = ts.createProgram([USER_FILE], options, host);

    // 1. syntax, and what a self-contained, erasable module may contain
    const syntax = program.getSyntacticDiagnostics(user)[0];
    if (syntax)
      throw udfError(
        'UdfSyntaxError',
        `udf_ts: ${ts.flattenDiagnosticMessageText(syntax.messageText, '\n')}`,
        pos(syntax.start ?? 0),
      );
    const blank: Array<[number, number]> = [];
    checkStatements(ts, user, pos, blank);

    // 2. types
    const semantic = program.getSemanticDiagnostics(user)[0];
    if (semantic) {
      const at = semantic.start ?? 0;
      // "Cannot find name 'process'. Do you need to install type definitions for node?": not the advice here
      const nodeHint = semantic.code === 2580 || semantic.code === 2591;
      throw udfError(
        'UdfTypeError',
        nodeHint
          ? `udf_ts: cannot find name '${this.#source.slice(at, at + (semantic.length ?? 0))}': a UDF runs with JavaScript's built-ins only (no Node.js API such as process or require)`
          : `udf_ts: ${ts.flattenDiagnosticMessageText(semantic.messageText, ' ')}`,
        pos(at),
      );
    }

    // 3. each declaration's export: present, a function of the right arity, assignable to its signature
    const checker = program.getTypeChecker();
    const moduleSymbol = checker.getSymbolAtLocation(user);
    const exported = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
    const byName = new Map(exported.map((s) => [s.name, s]));
    const chosen: Array<{ d: Declared; exportName: string; local: string; at: UdfPosition }> = [];
    for (const d of this.#declared.values()) {
      const name = d.sig.name;
      const exportName = byName.has(name) ? name : byName.has(name.toLowerCase()) ? name.toLowerCase() : null;
      if (exportName === null)
        throw d.errorAt(
          'UdfMissingExport',
          `function ${name} is declared without a body, but udf_ts exports no function named ${name}; add: export function ${name}${tsSignature(d.sig).replace(' =>', ':')} { ... }`,
        );
      let sym = byName.get(exportName) as import('typescript').Symbol;
      if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      const decl = sym.valueDeclaration ?? sym.declarations?.[0];
      const at = pos(decl ? (ts.getNameOfDeclaration(decl) ?? decl).getStart(user) : 0);
      const type = decl ? checker.getTypeOfSymbolAtLocation(sym, decl) : undefined;
      const sigs = type?.getCallSignatures() ?? [];
      if (sigs.length === 0)
        throw udfError(
          'UdfTypeError',
          `udf_ts export ${exportName} is not a function (SQL: ${sqlSignature(d.sig)})`,
          at,
        );
      if (sigs.length === 1) {
        const s = sigs[0] as import('typescript').Signature;
        const n = s.getParameters().length;
        const rest = s.getDeclaration()?.parameters?.some((p) => p.dotDotDotToken !== undefined) ?? false;
        if (!rest && n !== d.sig.params.length)
          throw udfError(
            'UdfTypeError',
            `function ${name} takes ${d.sig.params.length} argument${d.sig.params.length === 1 ? '' : 's'} in the SQL (${sqlSignature(d.sig)}), but the udf_ts function takes ${n}`,
            at,
          );
      }
      chosen.push({ d, exportName, local: sym.name, at });
    }
    if (chosen.length > 0) {
      const lines = ["import * as udf from './udf.ts';", 'export {};'];
      for (const [i, c] of chosen.entries())
        lines.push(`const check${i}: ${tsSignature(c.d.sig)} = udf[${JSON.stringify(c.exportName)}];`);
      const check = ts.createSourceFile(CHECK_FILE, lines.join('\n'), ts.ScriptTarget.ES2022, true);
      files.set(CHECK_FILE, check);
      program = ts.createProgram([USER_FILE, CHECK_FILE], options, host, program);
      for (const diag of program.getSemanticDiagnostics(check)) {
        const line = check.getLineAndCharacterOfPosition(diag.start ?? 0).line;
        const c = chosen[line - 2] ?? (chosen[0] as (typeof chosen)[number]);
        throw udfError(
          'UdfTypeError',
          `function ${c.d.sig.name}: the udf_ts export does not match the SQL declaration ${sqlSignature(c.d.sig)}, which needs ${tsSignature(c.d.sig)}: ${ts.flattenDiagnosticMessageText(diag.messageText, ' ')}`,
          c.at,
        );
      }
    }

    // 4. strip types (positions kept), blank `export` keywords, run
    const js = [...stripTypes(this.#source)];
    for (const [s, e] of blank) for (let i = s; i < e; i++) if (js[i] !== '\n') js[i] = ' ';
    const locals = new Map(chosen.map((c) => [c.exportName, c.local]));
    const sandbox = loadSandbox(js.join(''), locals);
    for (const c of chosen) {
      const f = sandbox.exports.get(c.exportName);
      if (typeof f !== 'function')
        throw udfError(
          'UdfTypeError',
          `udf_ts export ${c.exportName} is not a function when the module runs`,
          c.at,
        );
      c.d.impl = bindCall(c.d.sig, f as (...a: unknown[]) => unknown, sandbox, c.at);
    }
  }
}

/** Refuses imports, `export default`, and syntax type stripping cannot erase; records the `export` keywords. */
function checkStatements(
  ts: TS,
  user: SourceFile,
  pos: (at: number) => UdfPosition,
  blank: Array<[number, number]>,
): void {
  const refuse = (node: import('typescript').Node, code: 'UdfTypeError' | 'UdfSyntaxError', what: string) => {
    throw udfError(code, what, pos(node.getStart(user)));
  };
  for (const st of user.statements) {
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st))
      refuse(
        st,
        'UdfTypeError',
        'udf_ts cannot import modules: a UDF module is self-contained (JavaScript built-ins only)',
      );
    if (ts.isExportDeclaration(st)) {
      if (st.moduleSpecifier) refuse(st, 'UdfTypeError', 'udf_ts cannot re-export from other modules');
      blank.push([st.getStart(user), st.end]);
      continue;
    }
    if (ts.isExportAssignment(st))
      refuse(
        st,
        'UdfTypeError',
        'udf_ts exports functions by name (export function f ...); export default and export = are not used',
      );
    for (const m of ts.canHaveModifiers(st) ? (ts.getModifiers(st) ?? []) : []) {
      if (m.kind === ts.SyntaxKind.DefaultKeyword)
        refuse(
          m,
          'UdfTypeError',
          'udf_ts exports functions by name (export function f ...); export default is not used',
        );
      if (m.kind === ts.SyntaxKind.ExportKeyword) blank.push([m.getStart(user), m.end]);
    }
  }
  const visit = (node: import('typescript').Node): void => {
    const declared =
      ts.canHaveModifiers(node) &&
      (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
    if (ts.isEnumDeclaration(node) && !declared)
      refuse(
        node,
        'UdfSyntaxError',
        'udf_ts: enum is not erasable TypeScript; use a const object and a union type',
      );
    if (ts.isModuleDeclaration(node) && !declared)
      refuse(node, 'UdfSyntaxError', 'udf_ts: namespace is not erasable TypeScript; use plain functions');
    if (ts.isParameter(node) && ts.isConstructorDeclaration(node.parent) && ts.getModifiers(node)?.length)
      refuse(
        node,
        'UdfSyntaxError',
        'udf_ts: parameter properties are not erasable TypeScript; assign fields in the constructor',
      );
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      refuse(
        node,
        'UdfTypeError',
        'udf_ts cannot import modules: a UDF module is self-contained (JavaScript built-ins only)',
      );
    ts.forEachChild(node, visit);
  };
  visit(user);
}

/** Node's type stripper (positions unchanged); its one-time "experimental" warning is not the user's concern. */
function stripTypes(source: string): string {
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    const text = typeof w === 'string' ? w : w.message;
    if (!text.includes('stripTypeScriptTypes')) (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try {
    return nodeModule.stripTypeScriptTypes(source, { mode: 'strip' });
  } catch (e) {
    throw udfError('UdfSyntaxError', `udf_ts: ${(e as Error).message}`, null);
  } finally {
    process.emitWarning = emit;
  }
}

function bindCall(
  sig: ExternalSignature,
  f: (...a: unknown[]) => unknown,
  sandbox: Sandbox,
  at: UdfPosition,
): ExternalImpl {
  const h = sandbox.helpers;
  const toTs = sig.params.map((p) => toTsConverter(p.type, h));
  const fromTs = fromTsConverter(sig.returns, h);
  const n = toTs.length;
  return (args) => {
    const xs: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) xs[i] = (toTs[i] as (v: Value) => unknown)(args[i] as Value);
    let r: unknown;
    try {
      r = Reflect.apply(f, undefined, xs);
    } catch (e) {
      throw udfError(
        'UdfRuntimeError',
        `function ${sig.name} threw: ${h.describe(e)}`,
        positionInStack(h.stack(e)) ?? at,
        { function: sig.name },
      );
    }
    try {
      return fromTs(r);
    } catch (e) {
      if (e instanceof Misfit)
        throw udfError(
          'UdfRuntimeError',
          `function ${sig.name} returned ${e.message} (it is declared RETURNS ${typeToSql(sig.returns)}, TS ${tsType(sig.returns)})`,
          at,
          { function: sig.name },
        );
      const m = (e as Error).message;
      throw udfError(
        'UdfRuntimeError',
        `function ${sig.name} returned a value that does not fit ${typeToSql(sig.returns)}: ${m}`,
        at,
        {
          function: sig.name,
        },
      );
    }
  };
}
