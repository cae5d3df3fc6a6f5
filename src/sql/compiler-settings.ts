/**
 * Feldera's compiler options in a program: `SET FELDERA_IGNORE_WARNING_<WARNING> = ON;` (silences one kind of
 * compile warning, e.g. FELDERA_IGNORE_WARNING_UNUSED_COLUMN) and `SET FELDERA_WARNINGS_ARE_ERRORS = ON;`,
 * as Feldera's own demo programs begin. Names are case-insensitive; the value is a constant (ON, OFF, 1, 0,
 * TRUE, FALSE, a string). Holdfast accepts these statements and returns the option; any other `SET`, `RESET`
 * or `SET LOCAL` is SqlUnsupported naming the options a program may set.
 *
 * State: none.
 */
import { ServiceError } from '../errors/service-error.ts';
import type { Ast } from './parse.ts';

export interface CompilerSetting {
  /** Lower-case option name. */
  readonly name: string;
  /** The value as written (lower-cased when a word). */
  readonly value: string;
}

export const WARNINGS_ARE_ERRORS = 'feldera_warnings_are_errors';
export const IGNORE_WARNING_PREFIX = 'feldera_ignore_warning_';

/** The option a `SET` statement sets. @throws ServiceError SqlUnsupported for anything else. */
export function compilerSetting(set: Ast, position: { line: number; column: number }): CompilerSetting {
  const name = String(set.name ?? '').toLowerCase();
  const refuse = (what: string) =>
    new ServiceError(
      'SqlUnsupported',
      `${what} is not supported in a program (line ${position.line}, column ${position.column}); a program may only SET Feldera's compiler options FELDERA_IGNORE_WARNING_<warning> and FELDERA_WARNINGS_ARE_ERRORS`,
      { construct: 'SET', line: position.line, column: position.column },
    );
  if (set.kind !== 'VAR_SET_VALUE' || set.is_local)
    throw refuse(set.kind === 'VAR_SET_VALUE' ? 'SET LOCAL' : 'RESET');
  if (
    name !== WARNINGS_ARE_ERRORS &&
    !(name.startsWith(IGNORE_WARNING_PREFIX) && name.length > IGNORE_WARNING_PREFIX.length)
  )
    throw refuse(`SET ${name.toUpperCase()}`);
  const args = (set.args ?? []) as Ast[];
  const c = args.length === 1 ? args[0]?.A_Const : undefined;
  const value =
    c?.ival !== undefined
      ? String(c.ival.ival ?? 0)
      : c?.sval !== undefined
        ? String(c.sval.sval)
        : c?.boolval !== undefined
          ? String(c.boolval.boolval === true)
          : undefined;
  if (value === undefined) throw refuse(`SET ${name.toUpperCase()} to a value that is not a constant`);
  return { name, value };
}

/** Whether the settings silence warning `kind` (e.g. `unused_column`): its option set to ON, TRUE, 1 or YES. */
export function ignoresWarning(settings: readonly CompilerSetting[], kind: string): boolean {
  let on = false;
  for (const s of settings)
    if (s.name === IGNORE_WARNING_PREFIX + kind)
      on = ['on', 'true', '1', 'yes'].includes(s.value.toLowerCase());
  return on;
}
