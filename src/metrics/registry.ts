/**
 * Metrics on prom-client: one registry per process (the manager's, or a pipeline process's), with the process
 * and Node runtime metrics (`process_*`, `nodejs_*`), and the helpers both processes use to expose their own
 * families and to merge several expositions into one.
 *
 * State: the registry a caller creates; metric values live in prom-client's metric objects. A "mirror" metric
 * holds no value of its own: it reads its samples from the engine's counters at scrape time (so the numbers in
 * `/metrics` and `/stats` are the same numbers), and a family whose source is absent right now (no checkpointer,
 * not a standby, ...) has HELP/TYPE and no sample.
 *
 * Invariants: a merged exposition ({@link mergeFamilies}) has each family once (one HELP, one TYPE), the samples
 * of every source under it, and no two samples with the same name and labels; pipeline samples carry the
 * `pipeline_name` label of the pipeline they came from. Only well-formed names reach the output: a family or
 * label a source sends with an invalid name, or a sample with a non-numeric value, is dropped, so one bad source
 * cannot make the whole exposition unparsable.
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

/**
 * The Prometheus text content type. Exactly `text/plain`: Feldera's Python SDK returns a body as text only when
 * the content type is exactly that (anything else it parses as JSON), and Prometheus reads `text/plain` as the
 * 0.0.4 text format.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain';
export const JSON_CONTENT_TYPE = 'application/json';

/**
 * The pipeline process's `/metrics?format=` for its families in prom-client's shape: what the manager's
 * `/v0/metrics` fetches to merge every pipeline into one exposition (not part of the documented API).
 */
export const FAMILIES_FORMAT = 'holdfast_families';

/** Label every pipeline sample carries (Feldera's name for it). */
export const PIPELINE_LABEL = 'pipeline_name';

/** One metric family as `?format=json` carries it (prom-client's `getMetricsAsJSON` shape). */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  aggregator?: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** A registry with the process and Node runtime metrics; `labels` go on every sample it exposes. */
export function processRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  if (Object.keys(labels).length > 0) registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

type Read = () => Iterable<readonly [Record<string, string>, number]> | null;

/**
 * A counter whose samples `read` returns at scrape time: (labels, cumulative value) pairs, or null when its
 * source does not exist right now (then the family has no sample).
 */
export function mirrorCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: Read,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read() ?? []) if (Number.isFinite(v) && v >= 0) this.inc(labels, v);
    },
  });
}

/** A gauge whose samples `read` returns at scrape time (see {@link mirrorCounter}). */
export function mirrorGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: Read,
): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read() ?? []) if (!Number.isNaN(v)) this.set(labels, v);
    },
  });
}

/** A latency histogram in seconds (buckets from 1 ms to 5 min unless given). */
export function secondsHistogram<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
  buckets: number[] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
): Histogram<L> {
  return new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}

/** The registry's families as `?format=json` sends them. */
export async function familiesOf(registry: Registry): Promise<MetricFamily[]> {
  return (await registry.getMetricsAsJSON()) as unknown as MetricFamily[];
}

/**
 * `?format=json` as Feldera's pipelines answer it: an array of families `{key, type, description?, values}`,
 * each value `{labels, value}`. A counter's or gauge's value is a number (NaN and infinities as the strings
 * `"nan"`, `"inf"`, `"-inf"`); a histogram's is `{buckets, sum, count}` with its non-empty buckets only, each
 * holding its own count (not cumulative) between `gt` (the previous bound, absent for the first) and `le`
 * (absent for the last, unbounded one). A summary's quantiles are gauge-like values labelled `quantile`.
 */
export interface FelderaMetricFamily {
  key: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  description?: string;
  values: Array<{ labels: Record<string, string>; value: FelderaMetricValue }>;
}
export type FelderaNumber = number | 'nan' | 'inf' | '-inf';
export type FelderaMetricValue =
  | FelderaNumber
  | {
      buckets: Array<{ gt?: FelderaNumber; le?: number; count: FelderaNumber }>;
      sum: FelderaNumber;
      count: FelderaNumber;
    };

const felderaNumber = (v: number): FelderaNumber =>
  Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v < 0 ? '-inf' : 'inf';

const stringLabels = (l: Record<string, string | number>): Record<string, string> =>
  Object.fromEntries(Object.entries(l).map(([k, v]) => [k, String(v)]));

/** The families in Feldera's JSON metrics format (see {@link FelderaMetricFamily}). */
export function felderaJson(families: readonly MetricFamily[]): FelderaMetricFamily[] {
  return families.map((f) => {
    const out: FelderaMetricFamily = {
      key: f.name,
      type: f.type,
      ...(f.help ? { description: f.help } : {}),
      values: [],
    };
    if (f.type !== 'histogram') {
      for (const v of f.values)
        out.values.push({ labels: stringLabels(v.labels), value: felderaNumber(v.value) });
      return out;
    }
    // prom-client lists a histogram as `_bucket` samples (cumulative, labelled `le`), `_sum` and `_count`
    const series = new Map<
      string,
      { labels: Record<string, string>; buckets: Array<[number, number]>; sum: number; count: number }
    >();
    for (const v of f.values) {
      const { le, ...rest } = v.labels;
      const labels = stringLabels(rest);
      const key = JSON.stringify(Object.entries(labels).sort());
      let s = series.get(key);
      if (!s) {
        s = { labels, buckets: [], sum: 0, count: 0 };
        series.set(key, s);
      }
      if (v.metricName?.endsWith('_bucket'))
        s.buckets.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), v.value]);
      else if (v.metricName?.endsWith('_sum')) s.sum = v.value;
      else if (v.metricName?.endsWith('_count')) s.count = v.value;
    }
    for (const s of series.values()) {
      s.buckets.sort((a, b) => a[0] - b[0]);
      const buckets: Array<{ gt?: FelderaNumber; le?: number; count: FelderaNumber }> = [];
      let prev: [number, number] | null = null;
      for (const [upper, cumulative] of s.buckets) {
        const count = prev === null ? cumulative : cumulative - prev[1];
        if (count !== 0)
          buckets.push({
            ...(prev !== null ? { gt: felderaNumber(prev[0]) } : {}),
            ...(Number.isFinite(upper) ? { le: upper } : {}),
            count: felderaNumber(count),
          });
        prev = [upper, cumulative];
      }
      out.values.push({
        labels: s.labels,
        value: { buckets, sum: felderaNumber(s.sum), count: felderaNumber(s.count) },
      });
    }
    return out;
  });
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * The well-formed families of a `?format=json` body (anything else is dropped), each sample relabelled with
 * `labels` (which win over the source's own labels of the same name).
 */
export function sanitizeFamilies(body: unknown, labels: Record<string, string> = {}): MetricFamily[] {
  if (!Array.isArray(body)) return [];
  const out: MetricFamily[] = [];
  for (const f of body as Array<Partial<MetricFamily> | null>) {
    if (typeof f !== 'object' || f === null) continue;
    if (typeof f.name !== 'string' || !NAME.test(f.name) || !TYPES.has(f.type as string)) continue;
    if (!Array.isArray(f.values)) continue;
    const values: MetricFamily['values'] = [];
    for (const v of f.values) {
      if (typeof v !== 'object' || v === null || typeof v.value !== 'number') continue;
      if (v.metricName !== undefined && (typeof v.metricName !== 'string' || !NAME.test(v.metricName)))
        continue;
      const l: Record<string, string | number> = {};
      for (const [k, x] of Object.entries(v.labels ?? {}))
        if (LABEL.test(k) && (typeof x === 'string' || typeof x === 'number')) l[k] = x;
      values.push({
        value: v.value,
        labels: { ...l, ...labels },
        ...(v.metricName ? { metricName: v.metricName } : {}),
      });
    }
    out.push({
      name: f.name,
      help: typeof f.help === 'string' ? f.help : '',
      type: f.type as MetricFamily['type'],
      values,
    });
  }
  return out;
}

/**
 * One registry holding every source's families merged by name: one family per name (its help and type from the
 * first source that has it), every source's samples under it, a sample repeated with the same name and labels
 * kept once (the first). Render it with `metrics()` (text) or `getMetricsAsJSON()`.
 */
export function mergeFamilies(sources: readonly MetricFamily[][]): Registry {
  // prom-client's aggregation groups samples by name + labels; 'first' keeps distinct series as they are
  // (samples of different pipelines differ by pipeline_name) and never sums or omits anything
  const tagged = sources.map((fs) => fs.map((f) => ({ ...f, aggregator: 'first' })));
  return AggregatorRegistry.aggregate(tagged);
}

export type { Histogram, MetricObjectWithValues, MetricValue, Registry };
export { Counter, Gauge };
