/**
 * Manager routes: the pipeline registry (list, get, create, replace, patch, delete) and `POST …/diff` (the
 * program diff against a proposed program and udf_ts, computed by `holdfast program diff` in a child process).
 * The program is `program_code` plus `udf_ts` (TypeScript UDFs): a change to either is a program change
 * (program_version, recompile).
 *
 * Bodies are checked against their schemas (types/api-schemas.ts); a failure is answered with the code the
 * field's own check gives (`EmptyName`, `TooLongDescription`, `InvalidRuntimeConfig`, an unknown top-level
 * field as `InvalidRequestBody` with a "did you mean" hint, …): {@link bodyError} runs those checks on the body
 * as sent. Compilation is synchronous: POST/PUT/PATCH run `holdfast program compile` in a child process and
 * store `program_status`, `program_error` and `program_info`. An edit whose pipeline was started, cleared or
 * edited while its program compiled is refused (`UpdateRestrictedToStopped`) rather than written over that
 * change.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { isServiceError, ServiceError } from '../../errors/service-error.ts';
import type { InvalidInput } from '../../http/errors.ts';
import { type Route, sendJson } from '../../http/routes.ts';
import {
  ERROR_RESPONSES,
  PatchBodySchema,
  PipelineDiffSchema,
  PipelineInfoSchema,
  PipelineParamsSchema,
  PipelineSelectedInfoSchema,
  PostPutBodySchema,
  ProgramDiffBodySchema,
  ref,
  SelectorQuerySchema,
} from '../../types/api-schemas.ts';
import type {
  PipelineBootstrapFields,
  PipelineDescr,
  PipelineInfo,
  PipelineSelectedInfo,
  PipelineStatusDescr,
  PipelineStatusInfo,
  PipelineStatusWithConnectorsDescr,
} from '../../types/pipeline-api.ts';
import {
  closestName,
  PIPELINE_BODY_FIELDS,
  runtimeConfigWarnings,
  unknownBodyFields,
} from '../../types/runtime-fields.ts';
import type { ManagerContext } from '../context.ts';
import { now, uuidv7 } from '../records.ts';
import type { PipelineRecord } from '../store.ts';
import {
  normalizeRuntimeConfig,
  redact,
  unredact,
  validateDescription,
  validateName,
  validateTags,
} from '../validate.ts';

export const VERSION = '0.1.0';

type Body = Record<string, unknown>;
const nameOf = (req: FastifyRequest) => (req.params as { pipeline_name: string }).pipeline_name;
const selectorOf = (req: FastifyRequest) => (req.query as { selector?: string }).selector ?? null;
const TAGS = ['Pipelines'];

/** The pipeline resource: reading routes, then the ones that create, change or delete a pipeline. */
export function pipelineRoutes(m: ManagerContext): Route[] {
  return [...readRoutes(m), ...createRoutes(m), ...changeRoutes(m)];
}

/** GET the list and one pipeline. */
function readRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'GET',
      url: '/v0/pipelines',
      schema: {
        summary: 'List pipelines',
        tags: TAGS,
        querystring: SelectorQuerySchema,
        response: { 200: { type: 'array', items: PipelineSelectedInfoSchema }, ...ERROR_RESPONSES },
      },
      invalid: selectorInvalid,
      handler: async (req, reply) => {
        const sel = selectorOf(req);
        const list = m.store.list();
        const errors = await Promise.all(list.map((r) => connectorErrors(m, r, sel)));
        sendJson(
          reply,
          200,
          list.map((r, i) => view(r, sel, false, errors[i] ?? null)),
        );
      },
    },
    {
      method: 'GET',
      url: '/v0/pipelines/:pipeline_name',
      schema: {
        summary: 'A pipeline',
        tags: TAGS,
        params: PipelineParamsSchema,
        querystring: SelectorQuerySchema,
        response: { 200: PipelineSelectedInfoSchema, ...ERROR_RESPONSES },
      },
      invalid: selectorInvalid,
      handler: async (req, reply) => {
        const r = m.get(nameOf(req));
        const sel = selectorOf(req);
        sendJson(reply, 200, view(r, sel, false, await connectorErrors(m, r, sel)));
      },
    },
  ];
}

/** POST and PUT create a pipeline (PUT also replaces one). */
function createRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'POST',
      url: '/v0/pipelines',
      schema: {
        summary: 'Create a pipeline (compiles its program)',
        tags: TAGS,
        body: PostPutBodySchema,
        response: { 201: ref(PipelineInfoSchema), ...ERROR_RESPONSES },
      },
      invalid: (e) => bodyError(e, 'create'),
      handler: async (req, reply) => {
        const b = checkBodyFields(req.body as Body);
        const name = validateName(b.name);
        if (m.store.get(name))
          throw new ServiceError('DuplicateName', `a pipeline named '${name}' already exists`, {});
        const r = newRecord(name, b);
        await m.compile(r);
        m.store.put(r);
        sendJson(reply, 201, view(r, 'all', true));
      },
    },
    {
      method: 'PUT',
      url: '/v0/pipelines/:pipeline_name',
      schema: {
        summary: 'Create or replace a pipeline (replace: stopped, or only description/tags change)',
        tags: TAGS,
        params: PipelineParamsSchema,
        body: PostPutBodySchema,
        response: { 200: ref(PipelineInfoSchema), 201: ref(PipelineInfoSchema), ...ERROR_RESPONSES },
      },
      invalid: (e) => bodyError(e, 'create'),
      handler: async (req, reply) => {
        const name = nameOf(req);
        const b = checkBodyFields(req.body as Body);
        const newName = validateName(b.name);
        const old = m.store.get(name);
        if (!old) {
          if (newName !== name)
            throw new ServiceError(
              'CannotRenameNonExistingPipeline',
              `pipeline '${name}' does not exist, so it cannot be renamed to '${newName}'`,
              {},
            );
          const r = newRecord(name, b);
          await m.compile(r);
          m.store.put(r);
          return sendJson(reply, 201, view(r, 'all', true));
        }
        if (typeof b.program_code !== 'string')
          throw new ServiceError('InvalidRequestBody', '"program_code" (string) is required', {
            field: 'program_code',
          });
        sendJson(reply, 200, await edit(m, old, { ...b, name: newName }));
      },
    },
  ];
}

/** PATCH, the program diff, and DELETE. */
function changeRoutes(m: ManagerContext): Route[] {
  return [
    {
      method: 'PATCH',
      url: '/v0/pipelines/:pipeline_name',
      schema: {
        summary: 'Change some fields of a pipeline (absent or null: unchanged)',
        tags: TAGS,
        params: PipelineParamsSchema,
        body: PatchBodySchema,
        response: { 200: ref(PipelineInfoSchema), ...ERROR_RESPONSES },
      },
      invalid: (e) => bodyError(e, 'patch'),
      handler: async (req, reply) => {
        const b = checkBodyFields(req.body as Body);
        const old = m.get(nameOf(req));
        const merged: Body = {};
        for (const k of PIPELINE_BODY_FIELDS) {
          const v = b[k];
          merged[k] = v === undefined || v === null ? (old as unknown as Body)[k] : v;
        }
        merged.name = validateName(merged.name);
        sendJson(reply, 200, await edit(m, old, merged));
      },
    },
    {
      method: 'POST',
      url: '/v0/pipelines/:pipeline_name/diff',
      schema: {
        summary: "The diff between the pipeline's program and a proposed one (nothing changes)",
        tags: TAGS,
        params: PipelineParamsSchema,
        body: ProgramDiffBodySchema,
        response: { 200: PipelineDiffSchema, ...ERROR_RESPONSES },
      },
      handler: async (req, reply) => {
        // Feldera's: the baseline is the pipeline's current program (compiled), not its checkpoint's
        const r = m.get(nameOf(req));
        if (r.program_status !== 'Success')
          throw new ServiceError(
            'ProgramNotCompiled',
            `the program of pipeline '${r.name}' is not compiled (program_status ${r.program_status}), so there is nothing to compare with; fix it first (see program_error)`,
            { program_status: r.program_status },
          );
        const b = (req.body ?? {}) as { program_code?: unknown; udf_ts?: unknown };
        const proposed = typeof b.program_code === 'string' ? b.program_code : r.program_code;
        const current = { sql: r.program_code, udfTs: r.udf_ts ?? '' };
        const udfTs = typeof b.udf_ts === 'string' ? b.udf_ts : current.udfTs;
        sendJson(reply, 200, await m.diff(current, { sql: proposed, udfTs }));
      },
    },
    {
      method: 'DELETE',
      url: '/v0/pipelines/:pipeline_name',
      schema: {
        summary: 'Delete a stopped pipeline whose storage is cleared',
        tags: TAGS,
        params: PipelineParamsSchema,
        response: { 200: { description: 'Deleted (empty body)', type: 'null' }, ...ERROR_RESPONSES },
      },
      handler: (req, reply) => {
        const name = nameOf(req);
        const r = m.get(name);
        if (
          r.deployment_resources_status !== 'Stopped' ||
          r.deployment_resources_desired_status !== 'Stopped'
        ) {
          throw new ServiceError(
            'DeleteRestrictedToFullyStopped',
            `pipeline '${name}' must be stopped before it is deleted`,
            {},
          );
        }
        if (r.storage_status !== 'Cleared') {
          throw new ServiceError(
            'DeleteRestrictedToClearedStorage',
            `pipeline '${name}' still has storage; POST /v0/pipelines/${name}/clear first`,
            {},
          );
        }
        m.supervisor.forget(name);
        m.store.delete(name);
        // nothing of it stays behind: its process config (which holds the sync keys), logs, any leftover
        rmSync(join(m.store.dataDir, 'pipelines', r.id), { recursive: true, force: true });
        reply.code(200).header('content-length', 0).send();
      },
    },
  ];
}

/** `selector` outside all/status/status_with_connectors: the message the handler gave before the schema. */
function selectorInvalid(e: InvalidInput): ServiceError | null {
  if (e.part !== 'querystring' || e.param !== 'selector') return null;
  return new ServiceError(
    'InvalidParam',
    `selector must be all, status or status_with_connectors, got '${String(e.value)}'`,
    { param: 'selector' },
  );
}

/**
 * A body that fails its schema, answered with the code of the field's own check (run on the body as sent, in
 * the order the handlers run them); null when none of them objects (the kit then answers InvalidRequestBody
 * naming the field).
 */
function bodyError(e: InvalidInput, kind: 'create' | 'patch'): ServiceError | null {
  if (e.part !== 'body') return null;
  const b = e.input as Body;
  try {
    checkBodyFields(b);
    if (kind === 'create') {
      validateName(b.name);
      if (typeof b.program_code !== 'string')
        throw new ServiceError('InvalidRequestBody', '"program_code" (string) is required', {
          field: 'program_code',
        });
    } else if (b.name !== undefined && b.name !== null) validateName(b.name);
    const pc = b.program_config ?? {};
    if (typeof pc !== 'object' || pc === null || Array.isArray(pc))
      throw new ServiceError('InvalidProgramConfig', 'program_config must be a JSON object', { value: pc });
    if (b.description !== null || kind === 'create') validateDescription(b.description);
    if (b.tags !== null || kind === 'create') validateTags(b.tags);
    normalizeRuntimeConfig(b.runtime_config);
  } catch (err) {
    if (isServiceError(err)) return err;
    throw err;
  }
  return null;
}

async function edit(
  m: ManagerContext,
  old: PipelineRecord,
  b: Body,
): Promise<PipelineInfo | PipelineSelectedInfo> {
  const name = b.name as string;
  const rc = normalizeRuntimeConfig(unredact(b.runtime_config ?? {}, old.runtime_config));
  const pc = b.program_config ?? {};
  if (typeof pc !== 'object' || pc === null || Array.isArray(pc))
    throw new ServiceError('InvalidProgramConfig', 'program_config must be a JSON object', { value: pc });
  const core = {
    name,
    program_code: b.program_code as string,
    runtime_config: rc,
    program_config: pc as Record<string, unknown>,
    udf_rust: typeof b.udf_rust === 'string' ? b.udf_rust : '',
    udf_toml: typeof b.udf_toml === 'string' ? b.udf_toml : '',
    udf_ts: typeof b.udf_ts === 'string' ? b.udf_ts : '',
  };
  const changed = (Object.keys(core) as Array<keyof typeof core>).some(
    (k) => JSON.stringify(core[k]) !== JSON.stringify(k === 'udf_ts' ? (old.udf_ts ?? '') : old[k]),
  );
  if (
    changed &&
    !(old.deployment_resources_status === 'Stopped' && old.deployment_resources_desired_status === 'Stopped')
  ) {
    throw new ServiceError(
      'UpdateRestrictedToStopped',
      `pipeline '${old.name}' must be stopped before its program, name or runtime config change; POST /v0/pipelines/${old.name}/stop?force=true first`,
      {},
    );
  }
  if (name !== old.name && m.store.get(name))
    throw new ServiceError('DuplicateName', `a pipeline named '${name}' already exists`, {});
  if (old.storage_status !== 'Cleared') {
    const notAllowed = storageBoundEdits(old, name, rc);
    if (notAllowed.length > 0) {
      throw new ServiceError(
        'EditRestrictedToClearedStorage',
        `The following pipeline edits are not allowed while storage is not cleared: ${notAllowed.join(', ')}; POST /v0/pipelines/${old.name}/clear first`,
        { not_allowed: notAllowed },
      );
    }
  }
  const r: PipelineRecord = {
    ...old,
    description: validateDescription(b.description),
    tags: validateTags(b.tags),
  };
  if (changed) {
    const programChanged =
      core.program_code !== old.program_code ||
      JSON.stringify(core.program_config) !== JSON.stringify(old.program_config) ||
      core.udf_rust !== old.udf_rust ||
      core.udf_toml !== old.udf_toml ||
      core.udf_ts !== (old.udf_ts ?? '');
    Object.assign(r, core);
    r.version++;
    r.refresh_version++;
    if (programChanged) {
      r.program_version++;
      const before = concurrentFields(old);
      await m.compile(r);
      // the compile took a while: a start, a clear or another edit that landed meanwhile must not be overwritten
      // by this copy of the record (a started pipeline would read Stopped while its process runs on, unseen)
      const now = m.store.get(old.name);
      if (now !== old || concurrentFields(now) !== before)
        throw new ServiceError(
          'UpdateRestrictedToStopped',
          `pipeline '${old.name}' was started or changed while this edit compiled; nothing was saved: stop it (POST /v0/pipelines/${old.name}/stop) and save again`,
          {},
        );
    }
  }
  m.store.put(r, old.name);
  return view(r, 'all', true);
}

/** What other requests may change while an edit compiles (the record is changed in place). */
function concurrentFields(r: PipelineRecord): string {
  return JSON.stringify([
    r.version,
    r.description,
    r.tags,
    r.deployment_resources_status,
    r.deployment_resources_desired_status,
    r.storage_status,
    r.deployment_error,
  ]);
}

/** Edits that change what stored state means (Feldera's list): refused until storage is cleared. */
function storageBoundEdits(old: PipelineRecord, name: string, rc: Record<string, unknown>): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  // named as Feldera names them: the field path in backticks (`name`, `runtime_config.workers`, ...)
  if (name !== old.name) out.push('`name`');
  for (const k of ['workers', 'hosts', 'fault_tolerance', 'clock_timezone_offset']) {
    if (!same(rc[k], old.runtime_config[k])) out.push(`\`runtime_config.${k}\``);
  }
  const res = (rc.resources ?? {}) as Record<string, unknown>;
  const oldRes = (old.runtime_config.resources ?? {}) as Record<string, unknown>;
  for (const k of ['storage_mb_max', 'storage_class', 'namespace']) {
    if (!same(res[k], oldRes[k])) out.push(`\`runtime_config.resources.${k}\``);
  }
  return out;
}

/**
 * Refuses a pipeline body with a top-level field Holdfast does not know (most often a misspelling such as
 * `runtime_confg`, which Feldera would silently ignore, dropping the configuration it carried).
 */
function checkBodyFields(b: Body): Body {
  const unknown = unknownBodyFields(b);
  if (unknown.length === 0) return b;
  const hints = unknown.map((k) => {
    const near = closestName(k, PIPELINE_BODY_FIELDS);
    return near ? `'${k}' (did you mean '${near}'?)` : `'${k}'`;
  });
  throw new ServiceError(
    'InvalidRequestBody',
    `unknown top-level field${unknown.length > 1 ? 's' : ''} ${hints.join(', ')} in the pipeline body; the fields are ${PIPELINE_BODY_FIELDS.join(', ')}`,
    { unknown_fields: unknown, valid_fields: [...PIPELINE_BODY_FIELDS] },
  );
}

function newRecord(name: string, b: Body): PipelineRecord {
  if (typeof b.program_code !== 'string')
    throw new ServiceError('InvalidRequestBody', '"program_code" (string) is required', {
      field: 'program_code',
    });
  const pc = b.program_config ?? {};
  if (typeof pc !== 'object' || pc === null || Array.isArray(pc))
    throw new ServiceError('InvalidProgramConfig', 'program_config must be a JSON object', { value: pc });
  const t = now();
  return {
    id: uuidv7(),
    name,
    description: validateDescription(b.description),
    tags: validateTags(b.tags),
    created_at: t,
    version: 1,
    refresh_version: 1,
    platform_version: VERSION,
    program_code: b.program_code,
    udf_rust: typeof b.udf_rust === 'string' ? b.udf_rust : '',
    udf_toml: typeof b.udf_toml === 'string' ? b.udf_toml : '',
    udf_ts: typeof b.udf_ts === 'string' ? b.udf_ts : '',
    program_config: { profile: 'optimized', cache: true, ...(pc as Record<string, unknown>) },
    runtime_config: normalizeRuntimeConfig(b.runtime_config),
    program_version: 1,
    program_status: 'Pending',
    program_status_since: t,
    program_error: { sql_compilation: null, rust_compilation: null, system_error: null },
    program_info: null,
    deployment_id: null,
    deployment_initial: null,
    deployment_error: null,
    deployment_resources_status: 'Stopped',
    deployment_resources_status_since: t,
    deployment_resources_desired_status: 'Stopped',
    deployment_resources_desired_status_since: t,
    deployment_runtime_status: null,
    deployment_runtime_status_since: null,
    deployment_runtime_desired_status: null,
    deployment_runtime_desired_status_since: null,
    storage_status: 'Cleared',
    pid: null,
    port: null,
  };
}

/** The pipeline object as the API returns it for a selector (`all`, `status`, `status_with_connectors`). */
/**
 * `connectors` of `selector=status_with_connectors`: the errors the pipeline's connectors counted (parse and
 * transport errors of inputs, encode and transport errors of outputs), read from its `/stats`; null when it is
 * not deployed or does not answer within 2 s (never a made-up count).
 */
async function connectorErrors(
  m: ManagerContext,
  r: PipelineRecord,
  selector: string | null,
): Promise<{ num_errors: number } | null> {
  if (selector !== 'status_with_connectors' || r.deployment_resources_status !== 'Provisioned') return null;
  const port = m.supervisor.port(r.name);
  if (port === null) return null;
  try {
    const s = await m.supervisor.client(r.name, port).stats(2000);
    let n = 0;
    for (const i of s.inputs) n += i.metrics.num_parse_errors + i.metrics.num_transport_errors;
    for (const o of s.outputs) n += o.metrics.num_encode_errors + o.metrics.num_transport_errors;
    return { num_errors: n };
  } catch {
    return null;
  }
}

export function view(
  r: PipelineRecord,
  selector: string | null,
  info = false,
  connectors: { num_errors: number } | null = null,
): PipelineInfo | PipelineSelectedInfo {
  const sel = selector ?? 'all';
  if (sel !== 'all' && sel !== 'status' && sel !== 'status_with_connectors') {
    throw new ServiceError(
      'InvalidParam',
      `selector must be all, status or status_with_connectors, got '${sel}'`,
      { param: 'selector' },
    );
  }
  const combined =
    r.deployment_resources_status === 'Provisioned'
      ? (r.deployment_runtime_status ?? 'Unavailable')
      : r.deployment_resources_status;
  const desired =
    r.deployment_resources_desired_status === 'Stopped'
      ? 'Stopped'
      : (r.deployment_runtime_desired_status ?? r.deployment_initial ?? 'Unavailable');
  const status: PipelineStatusInfo = {
    id: r.id,
    name: r.name,
    description: r.description,
    tags: r.tags,
    created_at: r.created_at,
    version: r.version,
    platform_version: r.platform_version,
    program_config: r.program_config,
    program_version: r.program_version,
    program_status: r.program_status,
    program_status_since: r.program_status_since,
    deployment_error: r.deployment_error,
    refresh_version: r.refresh_version,
    storage_status: r.storage_status,
    // Feldera's: `{"checkpoints": [...]}` while storage is in use (the list the pipeline last reported)
    storage_status_details:
      r.storage_status === 'Cleared' ? null : (r.storage_status_details ?? { checkpoints: [] }),
    deployment_id: r.deployment_id,
    deployment_initial: r.deployment_initial,
    deployment_status: combined,
    deployment_status_since: r.deployment_runtime_status_since ?? r.deployment_resources_status_since,
    deployment_desired_status: desired,
    deployment_desired_status_since:
      r.deployment_runtime_desired_status_since ?? r.deployment_resources_desired_status_since,
    deployment_resources_status: r.deployment_resources_status,
    deployment_resources_status_since: r.deployment_resources_status_since,
    deployment_resources_desired_status: r.deployment_resources_desired_status,
    deployment_resources_desired_status_since: r.deployment_resources_desired_status_since,
    deployment_runtime_status: r.deployment_runtime_status,
    deployment_runtime_status_details: r.deployment_runtime_status_details ?? null,
    deployment_runtime_status_since: r.deployment_runtime_status_since,
    deployment_runtime_desired_status: r.deployment_runtime_desired_status,
    deployment_runtime_desired_status_since: r.deployment_runtime_desired_status_since,
    warnings: runtimeConfigWarnings(r.runtime_config),
  };
  // POST/PUT/PATCH answers (PipelineInfo) lack the bootstrap fields; GET answers have them
  const bootstrap: PipelineBootstrapFields = {
    bootstrap_policy: r.bootstrap_policy ?? null,
    silent_bootstrap: r.silent_bootstrap === true,
    concurrent_bootstrap: r.concurrent_bootstrap === true,
  };
  const all = {
    runtime_config: redact(r.runtime_config),
    program_code: r.program_code,
    udf_rust: r.udf_rust,
    udf_toml: r.udf_toml,
    udf_ts: r.udf_ts ?? '',
    program_error: r.program_error,
    program_info: r.program_info,
    deployment_resources_status_details: null,
  };
  if (info) {
    const out: PipelineInfo = { ...status, ...all };
    return out;
  }
  if (sel === 'all') {
    const out: PipelineDescr = { ...status, ...bootstrap, ...all };
    return out;
  }
  if (sel === 'status_with_connectors') {
    const out: PipelineStatusWithConnectorsDescr = { ...status, ...bootstrap, connectors };
    return out;
  }
  const out: PipelineStatusDescr = { ...status, ...bootstrap };
  return out;
}
