/**
 * One iterative walk over a libpg-query AST (deep expressions must not overflow the stack): every node object
 * under the root, arrays looked through, in no particular order.
 *
 * State: none.
 */
import type { Ast } from './parse.ts';

/**
 * Calls `visit` on every node under `root`; `visit` answers `'stop'` to end the walk (the result is then true),
 * `'skip'` not to descend into that node, or nothing to go on. Returns whether a visit stopped the walk.
 */
export function walkAst(root: unknown, visit: (node: Ast) => 'stop' | 'skip' | undefined): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
      continue;
    }
    const r = visit(v as Ast);
    if (r === 'stop') return true;
    if (r === 'skip') continue;
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push(x);
  }
  return false;
}
