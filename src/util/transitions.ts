/**
 * Explicit state machines: a table of the moves each state allows, and one checked move.
 *
 * A machine is declared once as `const TRANSITIONS = {...} as const satisfies TransitionTable<S>`: every state
 * is a key (a state the table forgets does not compile), and its list is every state it may move to. A move
 * that is not in the table throws `InvalidTransition` naming the machine and both states. Staying in the same
 * state is a move like any other: it is allowed only where the table lists it.
 */
import { ServiceError } from '../errors/service-error.ts';

/** Every state of `S`, each with the states it may move to. */
export type TransitionTable<S extends string> = { readonly [K in S]: readonly S[] };

/** Whether the table allows `from` → `to`. */
export function allows<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/**
 * Checks the move `from` → `to` against the table and returns `to`.
 * @throws ServiceError InvalidTransition (details: `machine`, `from`, `to`)
 */
export function checkedMove<S extends string>(machine: string, table: TransitionTable<S>, from: S, to: S): S {
  if (!allows(table, from, to))
    throw new ServiceError('InvalidTransition', `Cannot move the ${machine} from ${from} to ${to}`, {
      machine,
      from,
      to,
    });
  return to;
}
