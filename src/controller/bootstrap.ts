/**
 * The bootstrap decision at pipeline start (Feldera's `ControllerInit` + `CircuitThread::new`, §5.5–5.6).
 *
 * Given the newest checkpoint and the program to run:
 * - same program text (fingerprint) ⇒ restore as is;
 * - otherwise diff the checkpoint's program description against the new program. No description (an older
 *   checkpoint) ⇒ `BootstrapNotAllowed`. Empty diff (comments, whitespace) ⇒ restore with the state mapped onto
 *   the new circuit, no approval. Non-empty ⇒ check that it can be bootstrapped (`BootstrapNotAllowed`: as in
 *   Feldera, never when the old or the new program has a LATENESS column), then
 *   apply the policy (`decide`: allow / await approval / reject), then bootstrap (see `sql/bootstrap.ts`).
 *
 * With `concurrent_bootstrap` (asked for at start or in the approval) the rebuilt views are not computed here:
 * the state is the checkpoint's with their operators empty, and the result carries a {@link Backfill} that the
 * controller runs between live steps and cuts over from (sql/concurrent-bootstrap.ts); a new or modified table
 * refuses it (`BootstrapNotAllowed`).
 *
 * The result says which input endpoints must start from scratch (connectors of rebuilt tables and changed
 * connectors) and which views were rebuilt (their output connectors start over and receive the bootstrap
 * outputs). Nothing here writes to storage: a rejected or failed bootstrap leaves the checkpoint as it was.
 */
import type { CircuitSnapshot } from '../circuit/circuit.ts';
import { ServiceError } from '../errors/service-error.ts';
import { bootstrap, keptState, planBootstrap } from '../sql/bootstrap.ts';
import { Backfill, checkConcurrent } from '../sql/concurrent-bootstrap.ts';
import type { Program } from '../sql/program.ts';
import {
  diffPrograms,
  isEmptyDiff,
  type PipelineDiff,
  type ProgramDescription,
  parseProgramDescription,
} from '../sql/program-diff.ts';
import type { Batch } from '../zset/batch.ts';

export interface CheckpointToResume {
  readonly uuid: string;
  readonly fingerprint: string;
  /** The manifest's `extra` (holds `{program: ProgramDescription}` since bootstrapping exists). */
  readonly extra: unknown;
  readonly base: CircuitSnapshot;
  readonly deltas: readonly CircuitSnapshot[];
}

export interface ResumeDecision {
  readonly base: CircuitSnapshot;
  readonly deltas: readonly CircuitSnapshot[];
  /** Non-empty diff: the state was bootstrapped (the exactly-once journal must be discarded). */
  readonly bootstrapped: boolean;
  readonly diff: PipelineDiff | null;
  /** Input endpoints whose checkpointed position must not be used. */
  readonly restartInputs: ReadonlySet<string>;
  /** Views rebuilt by the bootstrap (their outputs start over). */
  readonly rebuiltViews: ReadonlySet<string>;
  /** The bootstrap step's outputs: full contents of rebuilt output views (empty with a backfill). */
  readonly outputs: ReadonlyMap<string, Batch>;
  /** Concurrent bootstrap: the rebuilt views are backfilled while the pipeline runs (null: done already). */
  readonly backfill: Backfill | null;
}

/** Feldera's rule: a changed program is not bootstrapped when either version has relations with LATENESS. */
function latenessBlocksBootstrap(
  old: ProgramDescription,
  neu: ProgramDescription,
  uuid: string,
  diff: PipelineDiff,
): void {
  const late = (d: ProgramDescription) =>
    d.relations
      .filter((r) => r.lateness === true)
      .map((r) => `'${r.name}'`)
      .join(', ');
  const reasons: string[] = [];
  if (late(neu) !== '')
    reasons.push(`- The new version of the program has relations with lateness: ${late(neu)}`);
  if (late(old) !== '')
    reasons.push(`- The checkpointed version of the program has relations with lateness: ${late(old)}`);
  if (reasons.length === 0) return;
  throw new ServiceError(
    'BootstrapNotAllowed',
    `The pipeline has been modified since the last checkpoint; however it cannot be bootstrapped due to the following reasons:\n${reasons.join('\n')}\nRestore the previous SQL to resume from checkpoint ${uuid}, or stop the pipeline and clear its storage to start over.`,
    { checkpoint: uuid, reasons, approval_diff: diff },
  );
}

/**
 * The same program text can plan to another circuit under another Holdfast (the planner learned a rewrite), and
 * operator state is matched to the circuit by key (`n<node>:<kind>`): state restored into operators that now mean
 * something else would be wrong without a sound. So a checkpoint of the same program must list, per relation, the
 * same operator keys as the circuit being restored; otherwise the restore is refused, naming the relations.
 * @throws ServiceError StateRestoreError
 */
function checkSameCircuit(old: ProgramDescription, now: ProgramDescription, uuid: string): void {
  const keys = new Map(now.relations.map((r) => [r.name, r.state_keys.join(',')]));
  const changed = old.relations.filter((r) => keys.get(r.name) !== r.state_keys.join(',')).map((r) => r.name);
  if (changed.length === 0) return;
  throw new ServiceError(
    'StateRestoreError',
    `checkpoint ${uuid} was written for the same program, but this version of Holdfast plans ${changed.join(', ')} to other operators than the version that wrote it, so their saved state does not fit. Resume with the version that wrote the checkpoint, or stop the pipeline and clear its storage to start over.`,
    { checkpoint: uuid, relations: changed },
  );
}

/** What a checkpoint's `extra` holds. */
export function checkpointExtra(program: ProgramDescription): { program: ProgramDescription } {
  return { program };
}

export async function decideResume(
  program: Program,
  description: ProgramDescription,
  fingerprint: string,
  cp: CheckpointToResume,
  hooks: {
    /** Applies the bootstrap policy to a non-empty diff (resolves to go ahead, throws to refuse). */
    readonly decide: (diff: PipelineDiff) => Promise<void>;
    readonly bootstrapping: () => void;
    /** Whether the bootstrap is to run concurrently (read after the approval, which may set it). */
    readonly concurrent?: () => boolean;
    readonly log: (
      level: 'info' | 'warn' | 'error',
      message: string,
      fields?: Record<string, unknown>,
    ) => void;
  },
): Promise<ResumeDecision> {
  const same = {
    base: cp.base,
    deltas: cp.deltas,
    bootstrapped: false,
    diff: null,
    restartInputs: new Set<string>(),
    rebuiltViews: new Set<string>(),
    outputs: new Map<string, Batch>(),
    backfill: null,
  };
  const old = parseProgramDescription((cp.extra as { program?: unknown } | null)?.program);
  if (cp.fingerprint === fingerprint) {
    if (old !== null) checkSameCircuit(old, description, cp.uuid);
    return same;
  }
  const diff = diffPrograms(old, description);
  if (old === null) {
    throw new ServiceError(
      'BootstrapNotAllowed',
      `The pipeline has been modified since the last checkpoint; however it cannot be bootstrapped due to the following reasons:\n- checkpoint ${cp.uuid} does not describe the program that wrote it (it was written by an older version of Holdfast), so only that exact program can resume from it. Restore the previous SQL, or stop the pipeline and clear its storage to start over.`,
      { checkpoint: cp.uuid, approval_diff: diff },
    );
  }
  const empty = isEmptyDiff(diff);
  if (!empty) latenessBlocksBootstrap(old, description, cp.uuid, diff);
  const plan = planBootstrap(old, description);
  if (!empty) {
    hooks.log('info', `Pipeline changes detected: ${JSON.stringify(diff)}`, { approval_diff: diff });
    await hooks.decide(diff);
    if (hooks.concurrent?.() === true) {
      checkConcurrent(program, plan);
      const { kept, deltas, feed } = keptState(program, { base: cp.base, deltas: cp.deltas }, plan);
      const backfill = new Backfill(program, plan, feed);
      hooks.log(
        'info',
        `concurrent bootstrap from checkpoint ${cp.uuid}: rebuilding ${plan.rebuilt.join(', ')} from ${plan.feed.join(', ') || '(no tables)'} (${backfill.totalRows} rows) while the pipeline runs`,
        { checkpoint: cp.uuid, rebuilt: plan.rebuilt },
      );
      const restartInputs = new Set(plan.restartInputs);
      for (const ep of [...diff.added_input_connectors, ...diff.modified_input_connectors])
        restartInputs.add(ep);
      return {
        base: kept,
        deltas,
        bootstrapped: true,
        diff,
        restartInputs,
        rebuiltViews: backfill.views,
        outputs: new Map(),
        backfill,
      };
    }
    hooks.bootstrapping();
    hooks.log(
      'info',
      `bootstrapping from checkpoint ${cp.uuid}: rebuilding ${plan.rebuilt.join(', ') || '(nothing)'} from ${plan.feed.join(', ') || '(no tables)'}`,
      { checkpoint: cp.uuid, rebuilt: plan.rebuilt },
    );
  }
  const t0 = performance.now();
  const result = bootstrap(program, { base: cp.base, deltas: cp.deltas }, plan);
  if (!empty)
    hooks.log('info', `bootstrap step done in ${(performance.now() - t0).toFixed(1)} ms`, {
      checkpoint: cp.uuid,
    });
  const restartInputs = new Set(plan.restartInputs);
  for (const ep of [...diff.added_input_connectors, ...diff.modified_input_connectors]) restartInputs.add(ep);
  const tables = new Set(program.tables.map((t) => t.name));
  return {
    base: result.state.base,
    deltas: result.state.deltas,
    bootstrapped: !empty,
    diff,
    restartInputs,
    rebuiltViews: new Set(plan.rebuilt.filter((r) => !tables.has(r))),
    outputs: result.outputs,
    backfill: null,
  };
}
