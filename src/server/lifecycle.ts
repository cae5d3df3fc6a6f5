/**
 * The pipeline process's phases around its controller, and its `/status` (Feldera's `ExtendedRuntimeStatus`).
 *
 *   Initializing ──(program unchanged, or bootstrap allowed)──────────────────────────▶ Ready (controller)
 *        │  └──(program changed, await_approval)──▶ AwaitingApproval ──/approve──▶ Bootstrapping ──▶ Ready
 *        ├──(initial standby)──▶ Standby ──/activate──▶ Initializing (final pull, takeover) ──▶ … ──▶ Ready
 *        └──(error, e.g. BootstrapRejected)──▶ Failed   (the process keeps serving `/status` with the error)
 *
 * The HTTP server listens from the start; a request that needs the controller before it exists gets 503
 * `Initializing` (or, after a failed initialization, that failure). `POST /approve` switches the bootstrap
 * policy to `allow` (and `silentBootstrap` and `concurrentBootstrap` to what it says) and returns once the pipeline
 * has left AwaitingApproval; sent earlier it pre-approves. A concurrent bootstrap skips Bootstrapping: the pipeline
 * is Ready at once and its runtime status is the controller's phase (`ConcurrentBootstrapping`, `Synchronizing`)
 * until the cut-over.
 * `/start` and `/pause` during initialization set the state the controller starts in; during Standby they are
 * refused (`InvalidTransition`, as Feldera): only `/activate` leaves it.
 *
 * Every phase change goes through {@link transition} and {@link PHASE_TRANSITIONS} (the diagram above, plus
 * AwaitingApproval → Failed and Standby → Failed); Ready and Failed are final. A move the table does not list
 * throws `InvalidTransition` and changes nothing.
 */
import type { Controller } from '../controller/controller.ts';
import { ServiceError } from '../errors/service-error.ts';
import type { ErrorResponse } from '../types/error-codes.ts';
import type {
  BootstrapPolicy,
  ExtendedRuntimeStatus,
  PipelineDiff,
  RuntimeStatus,
  StandbyStatus,
} from '../types/pipeline-api.ts';
import { checkedMove, type TransitionTable } from '../util/transitions.ts';

export type PhaseKind = InitPhase['kind'];

/** The moves between phases the pipeline process makes (see the diagram in the header). */
export const PHASE_TRANSITIONS = {
  Initializing: ['AwaitingApproval', 'Bootstrapping', 'Standby', 'Ready', 'Failed'],
  AwaitingApproval: ['Initializing', 'Failed'],
  Bootstrapping: ['Ready', 'Failed'],
  Standby: ['Initializing', 'Failed'],
  Ready: [],
  Failed: [],
} as const satisfies TransitionTable<PhaseKind>;

/**
 * The phase after moving `from` → `to`.
 * @throws ServiceError InvalidTransition (a move the table does not allow)
 */
export function transition(from: PhaseKind, to: PhaseKind): PhaseKind {
  return checkedMove('pipeline process', PHASE_TRANSITIONS, from, to);
}

export type InitPhase =
  | { readonly kind: 'Initializing' }
  | { readonly kind: 'AwaitingApproval'; readonly diff: PipelineDiff }
  | { readonly kind: 'Bootstrapping' }
  | { readonly kind: 'Standby'; readonly standby: StandbyPhase }
  | { readonly kind: 'Ready'; readonly controller: Controller }
  | { readonly kind: 'Failed'; readonly error: ServiceError };

/** What the lifecycle needs from a standby (see standby.ts). */
export interface StandbyPhase {
  /** Shown as `runtime_status_details.standby`. */
  stats(): StandbyStatus;
  /** Ends standby (the final pull follows). */
  activate(): void;
}

export class PipelineLifecycle {
  #phase: InitPhase;
  #policy: BootstrapPolicy;
  /** The state the controller should be in (set by the config, `/start`, `/pause` and `/activate`). */
  desired: 'Running' | 'Paused';
  /** Shown as `runtime_status_details.reason` (e.g. a checkpoint download, or a start from scratch). */
  reason: string | null = null;
  #onChange: Array<() => void> = [];
  #leftInit: () => void = () => {};
  /** Resolves the first time the pipeline leaves the plain Initializing phase (ready, waiting or failed). */
  readonly leftInitializing: Promise<void> = new Promise((r) => {
    this.#leftInit = r;
  });

  /**
   * Feldera's `silent_bootstrap`: the views a bootstrap rebuilds are not sent in full to their outputs (from the
   * start options, or as the approval says: `/approve` sets it as given).
   */
  silentBootstrap: boolean;
  /**
   * Feldera's `concurrent_bootstrap`: the views a bootstrap rebuilds are backfilled while the rest of the pipeline
   * runs (from the start options, or as the approval says).
   */
  concurrentBootstrap: boolean;

  constructor(
    options: {
      desired?: 'Running' | 'Paused';
      policy?: BootstrapPolicy;
      silentBootstrap?: boolean;
      concurrentBootstrap?: boolean;
      controller?: Controller;
    } = {},
  ) {
    this.desired = options.desired ?? 'Running';
    this.#policy = options.policy ?? 'allow';
    this.silentBootstrap = options.silentBootstrap === true;
    this.concurrentBootstrap = options.concurrentBootstrap === true;
    this.#phase = options.controller
      ? { kind: 'Ready', controller: options.controller }
      : { kind: 'Initializing' };
    if (options.controller) this.#leftInit();
  }

  get phase(): InitPhase {
    return this.#phase;
  }

  get policy(): BootstrapPolicy {
    return this.#policy;
  }

  get controller(): Controller | null {
    return this.#phase.kind === 'Ready' ? this.#phase.controller : null;
  }

  #set(p: InitPhase): void {
    transition(this.#phase.kind, p.kind);
    this.#phase = p;
    if (p.kind !== 'Initializing') this.#leftInit();
    const fs = this.#onChange;
    this.#onChange = [];
    for (const f of fs) f();
  }

  #changed(): Promise<void> {
    return new Promise((r) => this.#onChange.push(r));
  }

  bootstrapping(): void {
    this.#set({ kind: 'Bootstrapping' });
  }

  standby(standby: StandbyPhase): void {
    this.#set({ kind: 'Standby', standby });
  }

  /** Leaves Standby (after activation) for the rest of initialization. */
  initializing(reason: string | null): void {
    this.reason = reason;
    this.#set({ kind: 'Initializing' });
  }

  /** When `/activate` was accepted (for the activation duration). */
  activationRequestedAt: number | null = null;

  /**
   * `POST /activate?initial=`: from Standby, ends it (desired `initial`); otherwise, as in Feldera, it moves the
   * pipeline to `initial` like `/start` or `/pause`. Returns Feldera's reply text.
   * @throws ServiceError InvalidTransition (a failed pipeline)
   */
  activate(initial: 'Running' | 'Paused'): string {
    const p = this.#phase;
    const from = this.runtimeStatus();
    if (p.kind === 'Standby') {
      this.desired = initial;
      this.activationRequestedAt ??= performance.now();
      p.standby.activate();
      return `Pipeline transitioning from Standby to ${initial}`;
    }
    const desiredNow =
      p.kind === 'Ready' ? (p.controller.state === 'Paused' ? 'Paused' : 'Running') : this.desired;
    if (p.kind === 'Failed')
      throw new ServiceError(
        'InvalidTransition',
        `Cannot execute activate transition starting from ${from}`,
        { from, to: initial },
      );
    if (p.kind !== 'Ready') this.desired = initial;
    else if (initial === 'Running') p.controller.resume();
    else p.controller.pause();
    return `Pipeline transitioning from ${desiredNow} to ${initial}`;
  }

  ready(controller: Controller): void {
    if (this.desired === 'Paused') controller.pause();
    this.#set({ kind: 'Ready', controller });
  }

  fail(error: ServiceError): void {
    this.#set({ kind: 'Failed', error });
  }

  /**
   * Applies the bootstrap policy to a non-empty diff: resolves to go ahead (`allow`, or once approved),
   * throws `BootstrapRejected` (`reject`, now or while waiting).
   */
  async decide(diff: PipelineDiff): Promise<void> {
    for (;;) {
      if (this.#policy === 'allow') return;
      if (this.#policy === 'reject')
        throw new ServiceError(
          'BootstrapRejected',
          'Bootstrapping of the modified pipeline was rejected by the user.',
          {},
        );
      if (this.#phase.kind !== 'AwaitingApproval') this.#set({ kind: 'AwaitingApproval', diff });
      await this.#changed();
    }
  }

  /**
   * `POST /approve[?silent_bootstrap=true|concurrent_bootstrap=true]`: policy becomes `allow`, `silentBootstrap`
   * and `concurrentBootstrap` what the approval says (as in Feldera, not combined with the start's flags);
   * resolves once the pipeline is no longer awaiting approval.
   */
  async approve(silent = false, concurrent = false): Promise<void> {
    this.#policy = 'allow';
    this.silentBootstrap = silent;
    this.concurrentBootstrap = concurrent;
    if (this.#phase.kind !== 'AwaitingApproval') return;
    const done = this.#changed();
    this.#set({ kind: 'Initializing' }); // wakes decide(), which returns
    await done;
  }

  /** The error for a request that needs the controller now. */
  notReady(): ServiceError {
    if (this.#phase.kind === 'Failed') return this.#phase.error;
    return new ServiceError(
      'Initializing',
      'Operation failed because the pipeline has not finished initializing.',
      { runtime_status: this.runtimeStatus() },
    );
  }

  runtimeStatus(): RuntimeStatus {
    const p = this.#phase;
    switch (p.kind) {
      case 'Ready': {
        const c = p.controller;
        if (c.replaying) return 'Replaying';
        if (c.concurrentBootstrapPhase !== 'Inactive') return c.concurrentBootstrapPhase;
        return c.state === 'Paused' ? 'Paused' : c.state === 'Running' ? 'Running' : 'Suspended';
      }
      case 'Failed':
        return 'Unavailable';
      default:
        return p.kind;
    }
  }

  /**
   * `GET /status`: `{runtime_status, runtime_status_details, runtime_desired_status, storage_status_details}`
   * plus Holdfast's `state` (controller state or phase) and `incarnation_uuid`. A failed pipeline (initialization or a
   * step) answers with its error instead, as Feldera does.
   */
  status(): { httpStatus: number; body: ExtendedRuntimeStatus | ErrorResponse } {
    const p = this.#phase;
    const failure = p.kind === 'Failed' ? p.error : (p.kind === 'Ready' && p.controller.failure) || null;
    if (failure) return { httpStatus: failure.httpStatus, body: failure.toResponse() };
    return {
      httpStatus: 200,
      body: {
        runtime_status: this.runtimeStatus(),
        runtime_status_details:
          p.kind === 'AwaitingApproval'
            ? { approval_diff: p.diff }
            : p.kind === 'Standby'
              ? { standby: p.standby.stats(), ...(this.reason !== null ? { reason: this.reason } : {}) }
              : this.reason !== null
                ? { reason: this.reason }
                : null,
        runtime_desired_status:
          p.kind === 'Standby'
            ? 'Standby'
            : p.kind === 'Ready' && p.controller.state === 'Paused'
              ? 'Paused'
              : this.desired,
        storage_status_details: null,
        state: p.kind === 'Ready' ? p.controller.state : p.kind,
        incarnation_uuid: p.kind === 'Ready' ? p.controller.incarnationUuid : null,
      },
    };
  }
}
