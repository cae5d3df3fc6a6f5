/**
 * Which fields of a pipeline body and of its `runtime_config` Holdfast knows, and which of Feldera's runtime
 * fields it accepts without acting on them. Pure functions, no state; shared by the manager (it refuses unknown
 * top-level body fields and reports runtime warnings in the pipeline's status) and the pipeline process (it
 * logs the same warnings once when it starts).
 *
 * Invariants: every top-level field Feldera's `PostPutPipeline`/`PatchPipeline` accepts is accepted, and so is
 * every field of the pipeline object a GET returns (a client that reads a pipeline, edits it and sends it back
 * keeps working; those read-only fields are ignored). A runtime field Holdfast ignores is reported only when
 * its value differs from Feldera's default (null always means "default"). A `runtime_config` field unknown to
 * Feldera too is reported, never refused (Feldera tolerates it).
 */

/** Top-level fields of a create/replace/patch body that Holdfast reads. */
export const PIPELINE_BODY_FIELDS = [
  'name',
  'description',
  'tags',
  'program_code',
  'runtime_config',
  'program_config',
  'udf_rust',
  'udf_toml',
  'udf_ts',
] as const;

/** Read-only fields of the pipeline object (GET): accepted in a body and ignored, so round trips work. */
export const READ_ONLY_PIPELINE_FIELDS = [
  'id',
  'created_at',
  'version',
  'platform_version',
  'program_version',
  'program_status',
  'program_status_since',
  'program_error',
  'program_info',
  'deployment_error',
  'refresh_version',
  'storage_status',
  'storage_status_details',
  'deployment_id',
  'deployment_initial',
  'deployment_status',
  'deployment_status_since',
  'deployment_desired_status',
  'deployment_desired_status_since',
  'deployment_resources_status',
  'deployment_resources_status_since',
  'deployment_resources_desired_status',
  'deployment_resources_desired_status_since',
  'deployment_resources_status_details',
  'deployment_runtime_status',
  'deployment_runtime_status_details',
  'deployment_runtime_status_since',
  'deployment_runtime_desired_status',
  'deployment_runtime_desired_status_since',
  'bootstrap_policy',
  'silent_bootstrap',
  'concurrent_bootstrap',
  'connectors',
  'warnings',
];

const ACCEPTED_BODY_FIELDS = new Set<string>([...PIPELINE_BODY_FIELDS, ...READ_ONLY_PIPELINE_FIELDS]);

/** Runtime fields Holdfast acts on. */
export const ACTED_ON_RUNTIME_FIELDS = ['storage', 'fault_tolerance', 'clock_resolution_usecs'] as const;

/**
 * Feldera's runtime fields that Holdfast accepts and stores but does not act on, with Feldera's default
 * value(s) (a value equal to one of them, or null, is not reported) and why Holdfast ignores it.
 */
export const IGNORED_RUNTIME_FIELDS: Readonly<Record<string, { defaults: unknown[]; why: string }>> = {
  workers: { defaults: [8], why: 'each pipeline runs its circuit on one thread' },
  hosts: { defaults: [1], why: 'each pipeline runs in one process on one host' },
  cpu_profiler: { defaults: [true], why: 'there is no CPU profiler' },
  tracing: { defaults: [false], why: 'there is no Jaeger tracing' },
  tracing_endpoint_jaeger: { defaults: ['', '127.0.0.1:6831'], why: 'there is no Jaeger tracing' },
  min_batch_size_records: { defaults: [0], why: 'a step runs as soon as input is buffered' },
  max_buffering_delay_usecs: { defaults: [0], why: 'a step runs as soon as input is buffered' },
  clock_timezone_offset: { defaults: [], why: 'SQL time functions use UTC' },
  pin_cpus: { defaults: [[]], why: 'threads are not pinned to CPUs' },
  resources: { defaults: [{}], why: 'the manager does not enforce CPU, memory or storage limits' },
  provisioning_timeout_secs: { defaults: [], why: 'a pipeline process starts locally, without provisioning' },
  max_rss_mb: { defaults: [], why: 'memory use is not limited' },
  datafusion_memory_mb: { defaults: [], why: 'ad-hoc queries do not use DataFusion' },
  max_parallel_connector_init: { defaults: [], why: 'connectors are initialized one after another' },
  init_containers: { defaults: [], why: 'there are no containers' },
  checkpoint_during_suspend: { defaults: [true], why: 'it is deprecated (no effect in Feldera either)' },
  http_workers: { defaults: [], why: 'the HTTP server runs on the Node event loop' },
  io_workers: { defaults: [], why: 'I/O runs on the Node event loop' },
  env: { defaults: [{}], why: 'the pipeline process does not take environment variables from its config' },
  dev_tweaks: { defaults: [{}], why: 'there are no developer tweaks' },
  logging: { defaults: [], why: 'the log level is not configurable per pipeline' },
  pipeline_template_configmap: { defaults: [], why: 'there are no Kubernetes templates' },
};

/** A runtime_config field that is accepted but has no effect, as shown in the pipeline's `warnings`. */
export interface RuntimeFieldWarning {
  field: string;
  message: string;
}

/** Edit distance (Levenshtein), for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The closest name in `names` when it is close enough to be a likely misspelling, else null. */
export function closestName(name: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const n of names) {
    const d = distance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** Top-level fields of a pipeline body that neither Holdfast nor Feldera knows, in body order. */
export function unknownBodyFields(body: Record<string, unknown>): string[] {
  return Object.keys(body).filter((k) => !ACCEPTED_BODY_FIELDS.has(k));
}

const KNOWN_RUNTIME_FIELDS = [...ACTED_ON_RUNTIME_FIELDS, ...Object.keys(IGNORED_RUNTIME_FIELDS)];

function isDefault(v: unknown, defaults: unknown[]): boolean {
  if (v === null || v === undefined) return true;
  // an object of nulls (Feldera's SDK sends `resources` with every key null) is the default too
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => x === null)) return true;
  const s = JSON.stringify(v);
  return defaults.some((d) => JSON.stringify(d) === s);
}

/**
 * Warnings for a runtime config: Feldera's fields Holdfast ignores that carry a non-default value, and fields
 * that are not Feldera's at all. `alsoKnown` names further keys that are not runtime fields (the pipeline
 * process's config file has `name`, `program_code`, ... at the same level).
 */
export function runtimeConfigWarnings(
  rc: Record<string, unknown>,
  alsoKnown: readonly string[] = [],
): RuntimeFieldWarning[] {
  const out: RuntimeFieldWarning[] = [];
  for (const [k, v] of Object.entries(rc)) {
    if ((ACTED_ON_RUNTIME_FIELDS as readonly string[]).includes(k) || alsoKnown.includes(k)) continue;
    const ignored = IGNORED_RUNTIME_FIELDS[k];
    if (ignored) {
      if (!isDefault(v, ignored.defaults))
        out.push({
          field: k,
          message: `runtime_config.${k} = ${JSON.stringify(v)} is accepted but has no effect in Holdfast: ${ignored.why}`,
        });
      continue;
    }
    const hint = closestName(k, KNOWN_RUNTIME_FIELDS);
    out.push({
      field: k,
      message: `runtime_config.${k} is not a runtime field Holdfast or Feldera knows; it is ignored${hint ? ` (did you mean '${hint}'?)` : ''}`,
    });
  }
  return out;
}
