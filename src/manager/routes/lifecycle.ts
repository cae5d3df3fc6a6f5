/**
 * Manager routes: the pipeline lifecycle — start (`initial=running|paused|standby`, bootstrap policy), stop
 * (graceful with a checkpoint, or `force`), pause, resume, activate (a standby), clear storage, dismiss an
 * error.
 *
 * Standby: `start?initial=standby` (only with the file backend, `sync` and `start_from_checkpoint`) starts the
 * process in standby, where it keeps pulling the newest checkpoint; `activate[?initial=running|paused]` is
 * forwarded to the process, and from then on its restarts start in the activated state, not in standby.
 *
 * Invalid values of known query parameters keep Feldera's codes: `start?initial=x` is 405
 * `UnsupportedPipelineAction`, a bad `bootstrap_policy` 400 `InvalidBootstrapConfig`, `activate?initial=x` 400
 * `InvalidActivateStatus`; a bad boolean is 400 `InvalidParam`.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError, toServiceError } from '../../errors/service-error.ts';
import type { InvalidInput } from '../../http/errors.ts';
import { queryParams, type Route, sendJson } from '../../http/routes.ts';
import {
  ActivateQuerySchema,
  ERROR_RESPONSES,
  MessageSchema,
  PipelineParamsSchema,
  StartQuerySchema,
  StopQuerySchema,
} from '../../types/api-schemas.ts';
import { FtConfigError, type FtSettings, ftSettings, standbyProblem } from '../../types/ft-config.ts';
import type { StartPipelineParams, StopPipelineParams } from '../../types/pipeline-api.ts';
import type { ManagerContext } from '../context.ts';
import { ProcessAnswerError } from '../process-client.ts';
import { now, setResources, setRuntime } from '../records.ts';
import type { BootstrapPolicy, RuntimeDesiredStatus } from '../store.ts';

const nameOf = (req: FastifyRequest) => (req.params as { pipeline_name: string }).pipeline_name;
const TAGS = ['Pipeline lifecycle'];
const answers = (status: number, what: string) => ({
  [status]: { ...MessageSchema, description: what },
  ...ERROR_RESPONSES,
});

export function lifecycleRoutes(m: ManagerContext): Route[] {
  /** A `POST /v0/pipelines/{name}/<url>` action answering `status` with a JSON string. */
  const action = (
    url: string,
    summary: string,
    status: number,
    handler: Route['handler'],
    extra: { querystring?: object; invalid?: Route['invalid'] } = {},
  ): Route => ({
    method: 'POST',
    url: `/v0/pipelines/:pipeline_name/${url}`,
    schema: {
      summary,
      tags: TAGS,
      params: PipelineParamsSchema,
      ...(extra.querystring ? { querystring: extra.querystring } : {}),
      response: answers(status, summary),
    },
    ...(extra.invalid ? { invalid: extra.invalid } : {}),
    handler,
  });
  return [
    action('start', 'Start a pipeline (or a standby)', 202, (req, reply) => start(m, req, reply), {
      querystring: StartQuerySchema,
      invalid: startInvalid,
    }),
    action(
      'stop',
      'Stop a pipeline (force=false: checkpoint first)',
      202,
      (req, reply) => stop(m, req, reply),
      { querystring: StopQuerySchema },
    ),
    action('pause', 'Pause a running pipeline', 202, (req, reply) =>
      pauseResume(m, nameOf(req), 'pause', reply),
    ),
    action('resume', 'Resume a paused pipeline', 202, (req, reply) =>
      pauseResume(m, nameOf(req), 'resume', reply),
    ),
    action('activate', 'Activate a standby', 202, (req, reply) => activate(m, req, reply), {
      querystring: ActivateQuerySchema,
      invalid: (e) =>
        e.part === 'querystring' && e.param === 'initial' ? invalidActivateStatus(String(e.value)) : null,
    }),
    action('clear', 'Clear the storage of a stopped pipeline', 202, (req, reply) => {
      const name = nameOf(req);
      const r = m.get(name);
      if (r.deployment_resources_status !== 'Stopped')
        throw new ServiceError(
          'StorageStatusImmutableUnlessStopped',
          `storage can be cleared only while pipeline '${name}' is stopped: stop it first`,
          {},
        );
      rmSync(join(m.store.dataDir, 'pipelines', r.id, 'storage'), { recursive: true, force: true });
      r.storage_status = 'Cleared';
      r.storage_status_details = null;
      m.store.put(r);
      sendJson(reply, 202, 'Pipeline storage is being cleared');
    }),
    action('dismiss_error', 'Dismiss the deployment error of a stopped pipeline', 200, (req, reply) => {
      const name = nameOf(req);
      const r = m.get(name);
      if (
        r.deployment_error &&
        !(r.deployment_resources_status === 'Stopped' && r.deployment_resources_desired_status === 'Stopped')
      ) {
        throw new ServiceError(
          'DismissErrorRestrictedToFullyStopped',
          `pipeline '${name}' must be stopped before its error is dismissed`,
          {},
        );
      }
      r.deployment_error = null;
      m.store.put(r);
      sendJson(reply, 200, 'Deployment error dismissed');
    }),
  ];
}

/** `start` query failures with the codes the start handler gave before the schema. */
function startInvalid(e: InvalidInput): ServiceError | null {
  if (e.part !== 'querystring') return null;
  if (e.param === 'initial') {
    const initial = String(e.value);
    return new ServiceError(
      'UnsupportedPipelineAction',
      `Unsupported pipeline action '/start?initial=${initial}': unknown initial runtime desired status: ${initial}`,
      { initial },
    );
  }
  if (e.param === 'bootstrap_policy') {
    const policy = String(e.value);
    return new ServiceError(
      'InvalidBootstrapConfig',
      `Invalid bootstrap configuration: bootstrap_policy must be allow, reject or await_approval, got '${policy}'`,
      { bootstrap_policy: policy },
    );
  }
  return null;
}

function invalidActivateStatus(initial: string): ServiceError {
  return new ServiceError(
    'InvalidActivateStatus',
    `Invalid activation status ${JSON.stringify(initial)} (only running and paused are valid): omit initial to activate into Running, or send initial=paused`,
    { initial },
  );
}

function start(m: ManagerContext, req: FastifyRequest, reply: FastifyReply): void {
  const name = nameOf(req);
  const q = req.query as StartPipelineParams;
  const r = m.get(name);
  const initial = q.initial ?? 'running';
  const want: RuntimeDesiredStatus =
    initial === 'paused' ? 'Paused' : initial === 'standby' ? 'Standby' : 'Running';
  const policy = q.bootstrap_policy ?? 'await_approval';
  const silent = q.silent_bootstrap === true;
  const concurrent = q.concurrent_bootstrap === true;
  if (concurrent && silent)
    throw new ServiceError(
      'InvalidBootstrapConfig',
      'Invalid bootstrap configuration: `silent_bootstrap` and `concurrent_bootstrap` are mutually exclusive; set at most one',
      {},
    );
  let ft: FtSettings;
  try {
    ft = ftSettings(r.runtime_config);
  } catch (e) {
    if (e instanceof FtConfigError) throw new ServiceError(e.code, e.message, e.details);
    throw e;
  }
  if (want === 'Standby') {
    const problem = standbyProblem(ft);
    if (problem !== null)
      throw new ServiceError(
        'InitialStandbyNotAllowed',
        `Initial desired runtime status can only be set to Standby if: (1) \`runtime_config.storage.backend.name\` is set to \`file\`, (2) \`runtime_config.storage.backend.config.sync\` is configured, and (3) the sync config sets \`start_from_checkpoint\`. Pipeline '${name}': ${problem}.`,
        { pipeline_name: name },
      );
  }
  if (r.program_status !== 'Success')
    throw new ServiceError(
      'CannotStartWithCompilationError',
      `pipeline '${name}' cannot start: its program does not compile (see program_error)`,
      {},
    );
  if (r.deployment_resources_status === 'Stopping')
    throw new ServiceError(
      'IllegalPipelineAction',
      'Cannot restart the pipeline while it is stopping. Wait for it to stop before starting it again.',
      {},
    );
  if (r.storage_status === 'Clearing')
    throw new ServiceError(
      'CannotStartWhileClearingStorage',
      'storage is being cleared; start again when storage_status is Cleared',
      {},
    );
  const dismiss = q.dismiss_error !== false;
  if (r.deployment_error && dismiss && r.deployment_resources_status === 'Stopped') r.deployment_error = null;
  if (r.deployment_resources_desired_status === 'Provisioned') {
    if (r.deployment_initial !== want)
      throw new ServiceError(
        'InitialImmutableUnlessStopped',
        `pipeline '${name}' is already started with initial=${(r.deployment_initial ?? '').toLowerCase()}; ${r.deployment_initial === 'Standby' ? `activate it (POST /v0/pipelines/${name}/activate)` : 'use pause/resume'} or stop it first`,
        {},
      );
    if (
      (r.bootstrap_policy ?? 'await_approval') !== policy ||
      (r.silent_bootstrap === true) !== silent ||
      (r.concurrent_bootstrap === true) !== concurrent
    )
      throw new ServiceError(
        'BootstrapPolicyImmutableUnlessStopped',
        `pipeline '${name}' is already started with bootstrap_policy=${r.bootstrap_policy ?? 'await_approval'}${r.silent_bootstrap ? ' and silent_bootstrap=true' : ''}${r.concurrent_bootstrap ? ' and concurrent_bootstrap=true' : ''}; stop it first to change them`,
        {},
      );
    sendJson(reply, 202, 'Pipeline is starting');
    return;
  }
  // the config file and the registry are written first: when either write fails (e.g. StorageFull) the
  // request fails, nothing is started and the record is as it was
  m.update(name, (x) => {
    x.deployment_id = randomUUID();
    x.deployment_initial = want;
    x.bootstrap_policy = policy as BootstrapPolicy;
    x.silent_bootstrap = silent;
    x.concurrent_bootstrap = concurrent;
    x.deployment_resources_desired_status = 'Provisioned';
    x.deployment_resources_desired_status_since = now();
    x.deployment_runtime_desired_status = want;
    x.deployment_runtime_desired_status_since = now();
    setResources(x, 'Provisioning');
    m.supervisor.writeConfig(x.id, m.processConfig(x));
  });
  m.supervisor.start(name, r.id);
  sendJson(reply, 202, 'Pipeline is starting');
}

function stop(m: ManagerContext, req: FastifyRequest, reply: FastifyReply): void {
  const name = nameOf(req);
  const r = m.get(name);
  const force = (req.query as StopPipelineParams).force === true;
  // still initializing (e.g. awaiting approval) or in standby: the state is the checkpoint it started from
  // (or pulled), so there is nothing to save and no controller to checkpoint
  const initializing =
    r.deployment_runtime_status === 'Standby' ||
    r.deployment_runtime_status === 'Initializing' ||
    r.deployment_runtime_status === 'AwaitingApproval' ||
    r.deployment_runtime_status === 'Bootstrapping';
  if (
    force ||
    initializing ||
    r.deployment_resources_status === 'Stopped' ||
    r.deployment_resources_status === 'Provisioning'
  ) {
    void m.stopDeployment(name);
    sendJson(reply, 202, 'Pipeline is forcefully stopping');
    return;
  }
  const port = m.deployedPort(r);
  if (r.runtime_config.storage === null) {
    // Feldera's answer: accepted, then Stopped with a deployment error saying why no checkpoint was written
    m.update(name, (x) => {
      x.deployment_runtime_desired_status = null;
      x.deployment_resources_desired_status = 'Stopped';
      x.deployment_resources_desired_status_since = now();
      x.deployment_error = new ServiceError(
        'CheckpointStorageRequired',
        `the pipeline was stopped without a checkpoint: a graceful stop (stop?force=false) writes one, which needs storage, and runtime_config.storage is disabled, so its state in memory is lost; enable runtime_config.storage for a stop the next start resumes from`,
        {},
      ).toResponse();
    });
    m.supervisor.log(name, 'graceful stop without storage: no checkpoint written; stopping', 'warn');
    void m.stopDeployment(name);
    sendJson(reply, 202, 'Pipeline is suspending');
    return;
  }
  m.update(name, (x) => {
    x.deployment_runtime_desired_status = null;
    x.deployment_resources_desired_status = 'Stopped';
    x.deployment_resources_desired_status_since = now();
  });
  void suspend(m, name, port);
  sendJson(reply, 202, 'Pipeline is suspending');
}

/** Graceful stop: checkpoint, wait until it is durable, then stop the process. On failure: forced stop + error. */
async function suspend(m: ManagerContext, name: string, port: number): Promise<void> {
  const proc = m.supervisor.client(name, port);
  try {
    // no step runs after the checkpoint's cut: input waits (unacknowledged) instead of being processed and
    // then lost with the process
    await proc.pauseOrStart('pause').catch(() => {});
    const body = await proc.checkpoint();
    const deadline = Date.now() + 120_000;
    for (;;) {
      const st = await proc.checkpointStatus(body.incarnation_uuid);
      if (st.success !== null && st.success >= body.checkpoint_sequence_number) break;
      if (st.failure && st.failure.sequence_number >= body.checkpoint_sequence_number)
        throw new Error(st.failure.error);
      if (Date.now() > deadline) throw new Error('the checkpoint did not complete within 120 s');
      await new Promise((res) => setTimeout(res, 50));
    }
    m.supervisor.log(name, 'pipeline suspended (checkpoint written); stopping');
    m.note(name, (x) => setRuntime(x, 'Suspended'));
  } catch (e) {
    m.note(name, (x) => {
      x.deployment_error = new ServiceError(
        'SuspendFailed',
        `stopping gracefully failed: ${(e as Error).message}; the pipeline was stopped without a final checkpoint`,
        {},
      ).toResponse();
    });
  }
  await m.stopDeployment(name);
}

async function pauseResume(
  m: ManagerContext,
  name: string,
  action: 'pause' | 'resume',
  reply: FastifyReply,
): Promise<void> {
  const r = m.get(name);
  const port = m.deployedPort(r);
  try {
    await m.supervisor.client(name, port).pauseOrStart(action === 'pause' ? 'pause' : 'start');
  } catch (e) {
    if (!(e instanceof ProcessAnswerError)) throw e;
    // the pipeline's own refusal (e.g. 400 InvalidTransition in standby) is passed through, as Feldera does
    if (e.body !== null) return passThrough(reply, e.status, e.text);
    throw new ServiceError('PipelineInteractionUnreachable', `pipeline '${name}' answered ${e.status}`, {
      pipeline_name: name,
    });
  }
  m.note(name, (x) => {
    x.deployment_runtime_desired_status = action === 'pause' ? 'Paused' : 'Running';
    x.deployment_runtime_desired_status_since = now();
    setRuntime(x, action === 'pause' ? 'Paused' : 'Running');
  });
  sendJson(reply, 202, action === 'pause' ? 'Pipeline is pausing' : 'Pipeline is resuming');
}

/**
 * `POST .../activate[?initial=running|paused]`: forwarded to the pipeline's `POST /activate` with the query
 * string verbatim; its answer (202 `"Pipeline transitioning from Standby to Running"`, or its error) is passed
 * through. Once accepted, the record's runtime desired status is the activated one and the process config
 * says so too, so that a restart (crash, manager restart) starts in that state instead of standby again.
 */
async function activate(m: ManagerContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const name = nameOf(req);
  const r = m.get(name);
  const port = m.deployedPort(r);
  const initial = queryParams(req).get('initial') ?? 'running';
  if (initial !== 'running' && initial !== 'paused') throw invalidActivateStatus(initial);
  const search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  const {
    status,
    text,
    contentType: type,
  } = await m.supervisor.client(name, port).send('POST', `/activate${search}`, 10_000);
  if (status >= 200 && status < 300) {
    // the pipeline has activated: recorded even if the disk is full (then logged, retried)
    m.note(name, (x) => {
      if (x.deployment_resources_desired_status !== 'Provisioned') return; // stopped meanwhile
      x.deployment_runtime_desired_status = initial === 'paused' ? 'Paused' : 'Running';
      x.deployment_runtime_desired_status_since = now();
      try {
        m.supervisor.writeConfig(x.id, m.processConfig(x));
      } catch (e) {
        const err = toServiceError(e);
        m.supervisor.log(
          name,
          `the process config was not updated: ${err.errorCode}: ${err.message}`,
          'error',
        );
      }
    });
    m.supervisor.log(name, `activation requested (initial=${initial})`);
  }
  passThrough(reply, status, text, type);
}

/** Sends the pipeline's answer on unchanged (status and body). */
function passThrough(reply: FastifyReply, status: number, text: string, type: string | null = null): void {
  reply
    .code(status)
    .header('content-type', type ?? 'application/json')
    .send(Buffer.from(text));
}
