/**
 * The pipeline process's metrics: one prom-client registry (src/metrics/registry.ts) with the process and Node
 * runtime metrics, the engine's counters and gauges (read at scrape time from the controller, checkpointer, sync
 * service and standby, so `/metrics` and `/stats` agree), and histograms the engine feeds as things happen: step
 * latency, checkpoint duration and blocking time, sync push and pull duration.
 *
 * Every sample carries `pipeline_name`. A family whose source does not exist in the current phase (checkpoints
 * without storage, standby metrics once running, ...) is exposed with HELP/TYPE and no sample.
 *
 * The names and meanings of the families are a public contract (README "Metrics reference"): never rename one.
 */
import type { Controller } from '../controller/controller.ts';
import {
  familiesOf,
  type Histogram,
  type MetricFamily,
  mirrorCounter,
  mirrorGauge,
  PIPELINE_LABEL,
  processRegistry,
  type Registry,
  secondsHistogram,
} from '../metrics/registry.ts';
import type { Standby } from '../sync/standby.ts';
import type { SyncService } from '../sync/sync-service.ts';

/** Where the mirrored families read their values; each getter returns null when its source is absent. */
export interface PipelineMetricSources {
  controller(): Controller | null;
  /** The standby, only while the pipeline is one. */
  standby(): Standby | null;
  syncService(): SyncService | null;
  activationSeconds(): number | null;
  /** Open egress connections (`/egress/{view}`): name and records sent. */
  outputs(): Iterable<{ readonly name: string; readonly transmitted_records: number }>;
}

/** Timings the engine reports (wired by pipeline-main to the controller, checkpointer and synchronizer). */
export interface PipelineTimings {
  step(seconds: number): void;
  checkpoint(seconds: number, blockingSeconds: number): void;
  transfer(kind: 'push' | 'pull', seconds: number): void;
}

export class PipelineMetrics {
  readonly registry: Registry;
  readonly timings: PipelineTimings;
  #sources: PipelineMetricSources | null = null;
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
    this.registry = processRegistry({ [PIPELINE_LABEL]: name });
    const r = this.registry;
    const stepLatency = secondsHistogram(
      r,
      'holdfast_step_latency_seconds',
      'Duration of each circuit step (the step, and its input journaled with exactly-once).',
      [],
      [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    );
    const checkpointRuntime = secondsHistogram(
      r,
      'holdfast_checkpoint_runtime_seconds',
      'Duration of each successful checkpoint, capture to durable.',
    );
    const checkpointDelay = secondsHistogram(
      r,
      'holdfast_checkpoint_delay_seconds',
      'Time each successful checkpoint paused processing (the capture).',
    );
    const transfer: Histogram<'direction'> = secondsHistogram(
      r,
      'holdfast_checkpoint_sync_transfer_seconds',
      'Duration of each checkpoint push (direction="push") and pull (direction="pull", standby pulls included) that moved a checkpoint.',
      ['direction'],
      [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800],
    );
    // both directions exist from the start, so a dashboard sees 0 rather than no series
    transfer.zero({ direction: 'push' });
    transfer.zero({ direction: 'pull' });
    this.timings = {
      step: (s) => stepLatency.observe(s),
      checkpoint: (s, blocking) => {
        checkpointRuntime.observe(s);
        checkpointDelay.observe(blocking);
      },
      transfer: (kind, s) => transfer.observe({ direction: kind }, s),
    };
    this.#mirrors();
  }

  /** Sets where the mirrored families read (the server does, once it exists). */
  attach(sources: PipelineMetricSources): void {
    this.#sources = sources;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  json(): Promise<MetricFamily[]> {
    return familiesOf(this.registry);
  }

  #mirrors(): void {
    const r = this.registry;
    const pl = () => ({ [PIPELINE_LABEL]: this.#name });
    const labels = [PIPELINE_LABEL];
    const withEndpoint = [PIPELINE_LABEL, 'endpoint'];
    const ctl = () => this.#sources?.controller() ?? null;
    const one = (v: number | null | undefined) =>
      v === null || v === undefined ? null : [[pl(), v] as const];
    const c = (name: string, help: string, read: () => number | null | undefined) =>
      mirrorCounter(r, name, help, labels, () => one(read()));
    const g = (name: string, help: string, read: () => number | null | undefined) =>
      mirrorGauge(r, name, help, labels, () => one(read()));

    c('holdfast_records_input_total', 'Records received from all inputs.', () => ctl()?.totals.input_records);
    c(
      'holdfast_records_input_bytes_total',
      'Bytes received from all inputs.',
      () => ctl()?.totals.input_bytes,
    );
    c(
      'holdfast_records_processed_total',
      'Records processed by the circuit.',
      () => ctl()?.totals.processed_records,
    );
    g(
      'holdfast_records_input_buffered',
      'Records received and not yet processed.',
      () => ctl()?.bufferedRecords,
    );
    c('holdfast_steps_total', 'Circuit steps completed.', () => ctl()?.totals.completed_steps);
    g(
      'holdfast_pipeline_complete',
      '1 when every input other than HTTP ingress ended and every received record is completed (as pipeline_complete).',
      () => {
        const x = ctl();
        return x === null ? null : x.complete ? 1 : 0;
      },
    );

    // checkpoints (only with storage)
    const cm = () => ctl()?.checkpointer?.metrics;
    c('holdfast_checkpoint_total', 'Checkpoints written.', () => cm()?.count);
    c('holdfast_checkpoint_errors_total', 'Checkpoints that failed.', () => cm()?.failures);
    g(
      'holdfast_checkpoint_duration_seconds',
      'Duration of the last checkpoint, capture to durable.',
      () => cm()?.lastDurationSeconds,
    );
    g(
      'holdfast_checkpoint_blocking_seconds',
      'Time the last checkpoint paused processing (the capture).',
      () => cm()?.lastBlockingSeconds,
    );
    c(
      'holdfast_checkpoint_written_bytes_total',
      'Bytes written by checkpoints.',
      () => cm()?.writtenBytesTotal,
    );
    // the writes ahead of full checkpoints (README "Writes ahead")
    const ahead = () => ctl()?.checkpointer?.ahead;
    for (const [what, key, help] of [
      [
        'files',
        'files',
        'Segment files of large batches written ahead of full checkpoints, in the background.',
      ],
      ['bytes', 'bytes', 'Bytes of the segment files written ahead of full checkpoints.'],
      [
        'errors',
        'failed',
        'Writes ahead that failed (the next full checkpoint writes those batches itself and reports any error).',
      ],
    ] as const)
      c(`holdfast_checkpoint_written_ahead_${what}_total`, help, () => ahead()?.[key]);
    g(
      'holdfast_checkpoint_records',
      'Records processed at the last checkpoint.',
      () => cm()?.recordsAtLastCheckpoint,
    );

    // checkpoint sync (only with sync, once running): the service's own samples, one family each
    const service = () => this.#sources?.syncService() ?? null;
    for (const m of SYNC_FAMILIES) {
      const read = () => {
        const s = service()
          ?.metrics()
          .find((x) => x.name === m.name);
        return s === undefined ? null : s.value;
      };
      if (m.type === 'counter') c(m.name, m.help, read);
      else g(m.name, m.help, read);
    }
    g(
      'holdfast_standby_activation_seconds',
      'How long the activation of this standby took: POST /activate to Running (final pull included).',
      () => this.#sources?.activationSeconds(),
    );

    // standby (only while one)
    for (const m of STANDBY_FAMILIES) {
      const read = () => {
        const s = this.#sources
          ?.standby()
          ?.metrics()
          .find((x) => x.name === m.name);
        return s === undefined ? null : s.value;
      };
      if (m.type === 'counter') c(m.name, m.help, read);
      else g(m.name, m.help, read);
    }

    // connectors
    mirrorCounter(
      r,
      'holdfast_input_connector_records_total',
      'Records received per input endpoint.',
      withEndpoint,
      () =>
        ctl()?.inputs.map((e) => [{ ...pl(), endpoint: e.name }, e.metrics.total_records] as const) ?? null,
    );
    mirrorCounter(
      r,
      'holdfast_input_connector_errors_parse_total',
      'Records that failed to parse per input endpoint.',
      withEndpoint,
      () =>
        ctl()?.inputs.map((e) => [{ ...pl(), endpoint: e.name }, e.metrics.num_parse_errors] as const) ??
        null,
    );
    mirrorCounter(
      r,
      'holdfast_input_connector_late_records_total',
      'Changes dropped as late (LATENESS) per input endpoint, since the process started.',
      withEndpoint,
      () =>
        ctl()?.inputs.map((e) => [{ ...pl(), endpoint: e.name }, e.metrics.num_late_records] as const) ??
        null,
    );
    mirrorCounter(
      r,
      'holdfast_input_table_late_records_total',
      'Changes dropped as late (LATENESS) per table with a LATENESS column, since the pipeline started (checkpointed).',
      [PIPELINE_LABEL, 'table'],
      () => {
        const c = ctl();
        if (c === null) return null;
        return [...c.circuit.lateRecords()].map(([table, n]) => [{ ...pl(), table }, n] as const);
      },
    );
    mirrorCounter(
      r,
      'holdfast_output_connector_records_total',
      'Records sent per output endpoint.',
      withEndpoint,
      () =>
        ctl() === null
          ? null
          : [...(this.#sources?.outputs() ?? [])].map(
              (o) => [{ ...pl(), endpoint: o.name }, o.transmitted_records] as const,
            ),
    );
  }
}

type Family = { readonly name: string; readonly type: 'counter' | 'gauge'; readonly help: string };

/** The sync service's families (sync/sync-service.ts `metrics()`), declared up front so each is registered once. */
const SYNC_FAMILIES: readonly Family[] = [
  {
    name: 'holdfast_checkpoint_sync_push_success_total',
    type: 'counter',
    help: 'Successful checkpoint pushes.',
  },
  {
    name: 'holdfast_checkpoint_sync_push_failures_total',
    type: 'counter',
    help: 'Failed checkpoint pushes (manual and periodic).',
  },
  {
    name: 'holdfast_checkpoint_sync_push_transferred_bytes_total',
    type: 'counter',
    help: 'Bytes uploaded by checkpoint pushes.',
  },
  {
    name: 'holdfast_checkpoint_sync_push_transferred_bytes',
    type: 'gauge',
    help: 'Bytes uploaded by the last successful push.',
  },
  {
    name: 'holdfast_checkpoint_sync_push_duration_seconds',
    type: 'gauge',
    help: 'Duration of the last successful push.',
  },
  {
    name: 'holdfast_checkpoint_sync_push_transfer_speed_bytes_per_second',
    type: 'gauge',
    help: 'Upload rate of the last successful push.',
  },
  { name: 'holdfast_checkpoint_sync_push_in_progress', type: 'gauge', help: '1 while a push runs.' },
  {
    name: 'holdfast_checkpoint_sync_push_in_progress_bytes',
    type: 'gauge',
    help: 'Bytes uploaded so far by the push in flight.',
  },
  {
    name: 'holdfast_checkpoint_sync_push_in_progress_total_bytes',
    type: 'gauge',
    help: 'Bytes the push in flight will upload.',
  },
  {
    name: 'holdfast_checkpoint_sync_pull_success_total',
    type: 'counter',
    help: 'Checkpoints pulled from the object store.',
  },
  {
    name: 'holdfast_checkpoint_sync_pull_transferred_bytes',
    type: 'gauge',
    help: 'Bytes downloaded by the last pull.',
  },
  {
    name: 'holdfast_checkpoint_sync_pull_duration_seconds',
    type: 'gauge',
    help: 'Duration of the last pull.',
  },
  {
    name: 'holdfast_checkpoint_sync_retries_total',
    type: 'counter',
    help: 'Object-store requests retried after a transient failure (5xx, reset, timeout, cut-off body).',
  },
  {
    name: 'holdfast_checkpoint_sync_retries_exhausted_total',
    type: 'counter',
    help: 'Object-store requests that failed transiently on every attempt.',
  },
  {
    name: 'holdfast_checkpoint_sync_rpo_seconds',
    type: 'gauge',
    help: 'Age of the newest checkpoint pushed to the bucket (the recovery point objective now).',
  },
];

/** The standby's families (sync/standby.ts `metrics()`). */
const STANDBY_FAMILIES: readonly Family[] = [
  {
    name: 'holdfast_standby_lag_seconds',
    type: 'gauge',
    help: 'Age of the newest checkpoint the standby pulled (-1 until the first pull).',
  },
  {
    name: 'holdfast_standby_pulls_total',
    type: 'counter',
    help: 'Standby pulls that brought a newer checkpoint.',
  },
  {
    name: 'holdfast_standby_pull_failures_total',
    type: 'counter',
    help: 'Standby pulls that failed (or found no checkpoint).',
  },
  {
    name: 'holdfast_standby_store_retries_total',
    type: 'counter',
    help: 'Object-store requests of standby pulls retried after a transient failure.',
  },
  {
    name: 'holdfast_standby_pulled_bytes_total',
    type: 'counter',
    help: 'Bytes downloaded by standby pulls.',
  },
];
