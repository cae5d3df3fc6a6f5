/**
 * Durability at a glance for one pipeline: local and remote (bucket, read_bucket) checkpoints on a timeline
 * and in a table; the RPO (age of the newest checkpoint in the bucket) with its trend; the push in progress
 * with a progress bar (polled every 0.5 s while it runs), the last push and its failure (until a later push
 * succeeds), the periodic-push schedule with the retry backoff after failures; the bucket's owner epoch (and
 * this pipeline's takeover, after an activation); and for a standby its lag behind the primary's newest
 * checkpoint, its pulls and failures, and an Activate button that first says what activation will do. Buttons
 * take a checkpoint (waiting until it is complete) and push the newest one (waiting, with its progress).
 *
 * State: when this page first saw each local checkpoint (local checkpoints carry no time; one also in the
 * bucket is placed at its creation time) and the RPO samples of the trend, in refs.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  CheckpointMetadata,
  CheckpointStatus,
  CheckpointSyncStatus,
  PipelineDescr,
  RemoteCheckpoint,
  StandbyStatus,
} from '../client/index.ts';
import { Pipeline } from '../client/index.ts';
import { Chart } from './chart.tsx';
import { attempt, errorText, fmtAge, fmtBytes, fmtNumber, fmtTime, usePoll, useSession } from './util.tsx';

interface Snapshot {
  local: CheckpointMetadata[] | null;
  remote: RemoteCheckpoint[] | null;
  remoteError: string | null;
  sync: CheckpointSyncStatus | null;
  checkpoint: CheckpointStatus | null;
}

const short = (uuid: string | null | undefined): string => (uuid ? uuid.slice(0, 8) : '—');

/** `sync_status` `checkpoint_sync.activation` (not in the SDK's types): this pipeline's takeover of the bucket. */
interface Activation {
  readonly checkpoint: string | null;
  readonly epoch: number;
  readonly warm: boolean;
  readonly seconds: number;
  readonly activated_at: string;
}

export function Durability({ p, onChange }: { p: PipelineDescr; onChange: () => void }) {
  const { client } = useSession();
  const deployed = p.deployment_resources_status === 'Provisioned';
  const firstSeen = useRef(new Map<string, number>());
  const rpo = useRef<{ t: number[]; v: (number | null)[] }>({ t: [], v: [] });
  // a push in flight is followed closely (its progress bar), otherwise every 2 s
  const [pushing, setPushing] = useState(false);
  const poll = usePoll(
    async (signal): Promise<Snapshot | null> => {
      if (!deployed) return null;
      const opt = { signal };
      const [local, remote, sync, checkpoint] = await Promise.allSettled([
        client.checkpoints(p.name, opt),
        client.remoteCheckpoints(p.name, opt),
        client.syncCheckpointStatus(p.name, undefined, opt),
        client.checkpointStatus(p.name, undefined, opt),
      ]);
      const val = <T,>(r: PromiseSettledResult<T>): T | null => (r.status === 'fulfilled' ? r.value : null);
      const now = Date.now();
      for (const c of val(local) ?? [])
        if (!firstSeen.current.has(c.uuid)) firstSeen.current.set(c.uuid, now);
      return {
        local: val(local),
        remote: val(remote),
        remoteError: remote.status === 'rejected' ? errorText(remote.reason) : null,
        sync: val(sync),
        checkpoint: val(checkpoint),
      };
    },
    pushing ? 500 : 2000,
    [p.name, deployed],
  );
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  /** Runs a button's action (one at a time: a push needs the checkpoint before it to be complete). */
  const act = async (what: string, action: () => Promise<void>) => {
    setBusy(what);
    const ok = await attempt(setError, action);
    if (!ok) setMessage(null);
    setBusy(null);
    poll.refresh();
  };
  const snap = poll.data ?? null;
  // Holdfast's sync progress rides on Feldera's sync_status (not /stats, whose keys are Feldera's)
  const cs = snap?.sync?.checkpoint_sync ?? null;
  const standby = (p.deployment_runtime_status_details?.standby as StandbyStatus | undefined) ?? null;
  const remote = snap?.remote ?? [];
  const newestRemote = remote.at(-1) ?? null;
  const rpoSeconds =
    cs?.newest_remote_age_seconds ??
    (newestRemote ? (Date.now() - new Date(newestRemote.created_at).getTime()) / 1000 : null);
  // the RPO trend: one sample per render of the page (it re-renders with each poll)
  const t = Math.floor(Date.now() / 1000);
  if (rpo.current.t.at(-1) !== t && deployed && p.deployment_status !== 'Standby') {
    rpo.current.t.push(t);
    rpo.current.v.push(rpoSeconds);
    if (rpo.current.t.length > 300) {
      rpo.current.t.shift();
      rpo.current.v.shift();
    }
  }

  const push = cs?.push_in_progress ?? null;
  useEffect(() => setPushing(push !== null), [push !== null]);

  if (!deployed) {
    return (
      <section aria-labelledby="dur-h">
        <h2 id="dur-h">Durability</h2>
        <p class="muted">
          Start the pipeline to see its checkpoints, the bucket and the sync state (they are read from the
          running pipeline).
        </p>
      </section>
    );
  }
  // the last failure is current until a later push succeeds
  const lastError = cs?.last_push_error ?? null;
  const recovered =
    lastError !== null && cs?.last_push != null && cs.last_push.finished_at > lastError.at
      ? cs.last_push
      : null;
  const activation = ((cs as { activation?: Activation | null } | null)?.activation ??
    null) as Activation | null;
  const epoch = Math.max(newestRemote?.epoch ?? 0, activation?.epoch ?? 0) || null;
  // the bucket's owner: this pipeline once it took the bucket over (until it pushes, the newest checkpoint is
  // still the former owner's), else whoever pushed the newest checkpoint
  const owner =
    activation !== null && (newestRemote?.epoch ?? 0) < activation.epoch
      ? p.name
      : (newestRemote?.pushed_by?.pipeline_name ?? null);
  return (
    <section aria-labelledby="dur-h">
      <h2 id="dur-h">Durability</h2>
      <div class="cards">
        <div class="card" data-testid="rpo">
          <div class="card-label">RPO (newest checkpoint in the bucket)</div>
          <div class="card-value">{cs || newestRemote ? fmtAge(rpoSeconds) : 'no sync'}</div>
          <div class="muted">
            {newestRemote
              ? `${short(newestRemote.uuid)} at ${fmtTime(newestRemote.created_at)}`
              : 'nothing pushed yet'}
          </div>
        </div>
        <div class="card">
          <div class="card-label">Last push</div>
          <div class="card-value">{cs?.last_push ? fmtTime(cs.last_push.finished_at) : '—'}</div>
          <div class="muted">
            {cs?.last_push
              ? `${short(cs.last_push.uuid)}: ${fmtBytes(cs.last_push.bytes)}, ${cs.last_push.files} files (${cs.last_push.files_skipped} already there)`
              : `${cs?.pushes ?? 0} pushes`}
          </div>
        </div>
        <div class="card">
          <div class="card-label">Periodic push</div>
          <div class="card-value">
            {cs?.push_interval ? `every ${fmtAge(cs.push_interval)}` : cs ? 'manual only' : 'no sync'}
          </div>
          <div class="muted" data-testid="push-schedule">
            {cs?.next_push_in_seconds !== null && cs?.next_push_in_seconds !== undefined
              ? `${cs.push_retry_backoff_seconds != null ? 'retry' : 'next attempt'} in ${fmtAge(cs.next_push_in_seconds)}`
              : push
                ? 'pushing now'
                : 'none scheduled'}
            {cs && cs.push_failures_in_row > 0
              ? `; ${cs.push_failures_in_row} failed in a row${cs.push_retry_backoff_seconds != null ? `, backing off ${fmtAge(cs.push_retry_backoff_seconds)}` : ''}`
              : ''}
            {cs && cs.push_failures > 0 ? ` (${cs.push_failures} failures since start)` : ''}
          </div>
        </div>
        <div class="card">
          <div class="card-label">Bucket</div>
          <div class="card-value mono small">{cs?.bucket ?? '—'}</div>
          <div class="muted">
            {cs?.read_bucket ? `reads also ${cs.read_bucket}; ` : ''}owner {owner ?? '—'} (epoch{' '}
            {epoch ?? '—'})
            {activation
              ? `; this pipeline took it over at ${fmtTime(activation.activated_at)} from ${short(activation.checkpoint)} (${activation.warm ? 'warm' : 'cold'}, ${fmtNumber(activation.seconds, 1)} s)`
              : ''}
            {cs?.fenced ? `; FENCED: ${cs.fenced}` : ''}
          </div>
        </div>
      </div>
      {push && (
        <div class="panel push-progress">
          <p id="push-progress-text">
            Pushing {short(push.uuid)}:{' '}
            <strong data-testid="push-percent">{pushPercent(push.bytes_done, push.bytes_total)}%</strong> (
            {fmtBytes(push.bytes_done)} of {fmtBytes(push.bytes_total)}, {push.files_done} of{' '}
            {push.files_total} files, {fmtBytes(push.bytes_per_second)}/s
            {push.files_skipped > 0 ? `; ${push.files_skipped} files already in the bucket` : ''})
          </p>
          <progress
            aria-labelledby="push-progress-text"
            max={Math.max(1, push.bytes_total)}
            value={push.bytes_done}
          />
        </div>
      )}
      {lastError &&
        (recovered ? (
          <p class="muted" data-testid="push-error">
            The push that failed at {fmtTime(lastError.at)} ({lastError.error}) was followed by a successful
            one at {fmtTime(recovered.finished_at)} ({short(recovered.uuid)}): pushes work again.
          </p>
        ) : (
          <p class="error" role="alert" data-testid="push-error">
            Last push failed at {fmtTime(lastError.at)} ({short(lastError.uuid)}): {lastError.error}
            {cs && cs.push_retry_backoff_seconds != null && cs.next_push_in_seconds != null
              ? `. Retrying in ${fmtAge(cs.next_push_in_seconds)} (backoff ${fmtAge(cs.push_retry_backoff_seconds)}, doubling up to 5 min while it fails).`
              : cs?.push_interval
                ? '.'
                : '. Periodic pushes are off: push again once the bucket is fixed.'}
          </p>
        ))}
      {snap?.checkpoint?.failure && (
        <p class="error">
          Checkpoint {snap.checkpoint.failure.sequence_number} failed at{' '}
          {fmtTime(snap.checkpoint.failure.failed_at)}: {snap.checkpoint.failure.error}
        </p>
      )}
      {p.deployment_status !== 'Standby' && (
        <div class="actions">
          <button
            type="button"
            disabled={busy !== null}
            onClick={() =>
              void act('checkpoint', async () => {
                setMessage('Taking a checkpoint…');
                const seq = await new Pipeline(client, p.name).checkpoint({ wait: true, timeoutMs: 120_000 });
                setMessage(`Checkpoint ${seq} taken`);
              })
            }
          >
            Take checkpoint
          </button>
          {cs && (
            <button
              type="button"
              disabled={busy !== null}
              onClick={() =>
                void act('push', async () => {
                  setMessage('Pushing the newest checkpoint to the bucket…');
                  const uuid = await new Pipeline(client, p.name).syncCheckpoint({
                    wait: true,
                    timeoutMs: 600_000,
                    onProgress: (e) => {
                      if (e.progress)
                        setMessage(
                          `Pushing ${short(e.uuid)}: ${fmtBytes(e.progress.bytes_done)} of ${fmtBytes(e.progress.bytes_total)}`,
                        );
                    },
                  });
                  setMessage(`Pushed checkpoint ${short(uuid)} to the bucket`);
                })
              }
            >
              Push to bucket
            </button>
          )}
          {message && (
            <span class="ok" role="status">
              {message}
            </span>
          )}
          {error && (
            <span class="error" role="alert">
              {error}
            </span>
          )}
        </div>
      )}
      {standby && <StandbyPanel p={p} s={standby} onChange={onChange} />}
      <Timeline local={snap?.local ?? []} remote={remote} firstSeen={firstSeen.current} />
      {cs && p.deployment_status !== 'Standby' && (
        <Chart
          label="RPO over time (seconds)"
          times={rpo.current.t}
          series={[{ label: 'RPO s', values: rpo.current.v, color: '#b8540b' }]}
          summary={`now ${fmtAge(rpoSeconds)}`}
          height={120}
        />
      )}
      {snap?.remoteError && <p class="muted">Remote checkpoints: {snap.remoteError}</p>}
      <CheckpointTable local={snap?.local ?? []} remote={remote} />
    </section>
  );
}

function StandbyPanel({ p, s, onChange }: { p: PipelineDescr; s: StandbyStatus; onChange: () => void }) {
  const { client } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [initial, setInitial] = useState<'running' | 'paused'>('running');
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  return (
    <section class="panel standby" aria-labelledby="standby-h">
      <h3 id="standby-h">Standby</h3>
      <dl class="kv">
        <dt>Lag behind the primary</dt>
        <dd data-testid="standby-lag">{fmtAge(s.last_pulled_age_seconds)}</dd>
        <dt>Holds checkpoint</dt>
        <dd>
          {s.last_pulled_checkpoint
            ? `${short(s.last_pulled_checkpoint)} from ${s.last_pulled_source}`
            : 'none yet'}
          {s.last_pulled_at ? `, pulled at ${fmtTime(s.last_pulled_at)}` : ''}
        </dd>
        <dt>Pulls</dt>
        <dd>
          {s.pulls} succeeded of {s.pull_attempts}, {s.pull_failures} failed; next in{' '}
          {fmtAge(s.next_pull_in_seconds)}
        </dd>
        <dt>Warm state</dt>
        <dd>{s.warm ? `${short(s.warm.checkpoint)} loaded (${s.warm.mode})` : (s.warm_error ?? 'cold')}</dd>
        {s.last_error && (
          <>
            <dt>Last pull error</dt>
            <dd class="error">
              {fmtTime(s.last_error.at)}: {s.last_error.message}
            </dd>
          </>
        )}
      </dl>
      {s.activation_requested || sent ? (
        <p role="status">Activation under way: the last pull and the takeover are running.</p>
      ) : !confirming ? (
        <button type="button" class="primary" onClick={() => setConfirming(true)}>
          Activate…
        </button>
      ) : (
        <div class="confirm">
          <h4 id="activate-h">Activate {p.name}?</h4>
          <p>
            Activation pulls the newest checkpoint from the bucket one last time (now held:{' '}
            {short(s.last_pulled_checkpoint)}, {fmtAge(s.last_pulled_age_seconds)} old), takes the bucket over
            (its ownership epoch goes up by one, so the current primary is fenced and can no longer push to
            it), and then {initial === 'running' ? 'runs' : 'starts paused'} from that checkpoint. Changes the
            primary processed after its newest pushed checkpoint are not in it. This cannot be undone from
            here.
          </p>
          <label>
            Then
            <select
              value={initial}
              onChange={(e) => setInitial(e.currentTarget.value as 'running' | 'paused')}
            >
              <option value="running">run</option>
              <option value="paused">stay paused</option>
            </select>
          </label>{' '}
          <button
            type="button"
            class="danger"
            onClick={() =>
              void attempt(setError, async () => {
                await client.activatePipeline(p.name, initial);
                setSent(true);
                onChange();
              })
            }
          >
            Activate now
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function Timeline({
  local,
  remote,
  firstSeen,
}: {
  local: readonly CheckpointMetadata[];
  remote: readonly RemoteCheckpoint[];
  firstSeen: Map<string, number>;
}) {
  const now = Date.now();
  const created = new Map(remote.map((r) => [r.uuid, new Date(r.created_at).getTime()]));
  const localAt = local.map((c) => ({ c, t: created.get(c.uuid) ?? firstSeen.get(c.uuid) ?? now }));
  const times = [...created.values(), ...localAt.map((x) => x.t)];
  const start = Math.min(now - 10 * 60_000, ...times);
  const W = 1000;
  const x = (t: number) => 40 + ((t - start) / Math.max(1, now - start)) * (W - 60);
  const lanes: Array<[string, number]> = [
    ['local', 30],
    ['bucket', 60],
    ['read_bucket', 90],
  ];
  const summary = `${local.length} local checkpoints, ${remote.filter((r) => r.source === 'bucket').length} in the bucket, ${remote.filter((r) => r.source === 'read_bucket').length} in the read bucket, from ${new Date(start).toLocaleTimeString('en-GB')} to now`;
  return (
    <figure class="timeline">
      <figcaption>
        <strong>Checkpoint timeline</strong> <span class="muted">{summary}</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${W} 115`}
        role="img"
        aria-label={`Checkpoint timeline: ${summary}`}
        preserveAspectRatio="none"
      >
        {lanes.map(([name, y]) => (
          <g key={name}>
            <line x1={40} x2={W - 20} y1={y} y2={y} stroke="#bbb" />
            <text x={0} y={y + 4} font-size="11" fill="#333">
              {name === 'read_bucket' ? 'read' : name}
            </text>
          </g>
        ))}
        {localAt.map(({ c, t }) => (
          <circle key={`l${c.uuid}`} cx={x(t)} cy={30} r={5} fill="#1f5fa8">
            <title>local {c.uuid}</title>
          </circle>
        ))}
        {remote.map((r) => (
          <rect
            key={`r${r.source}${r.uuid}`}
            x={x(created.get(r.uuid) ?? now) - 5}
            y={(r.source === 'bucket' ? 60 : 90) - 5}
            width={10}
            height={10}
            fill={r.source === 'bucket' ? '#b8540b' : '#6a1b9a'}
          >
            <title>
              {r.source} {r.uuid} {r.created_at}
            </title>
          </rect>
        ))}
        <line x1={x(now)} x2={x(now)} y1={15} y2={100} stroke="#2e7d32" stroke-dasharray="3 3" />
        <text x={x(now) - 24} y={112} font-size="11" fill="#2e7d32">
          now
        </text>
      </svg>
    </figure>
  );
}

function CheckpointTable({
  local,
  remote,
}: {
  local: readonly CheckpointMetadata[];
  remote: readonly RemoteCheckpoint[];
}) {
  const localSet = new Set(local.map((c) => c.uuid));
  const remoteByUuid = new Map(remote.map((r) => [r.uuid, r]));
  const uuids = [...new Set([...remote.map((r) => r.uuid), ...local.map((c) => c.uuid)])].reverse();
  if (uuids.length === 0) return <p class="muted">No checkpoints yet.</p>;
  return (
    <div class="table-wrap">
      <table class="checkpoints">
        <caption>Checkpoints, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Checkpoint</th>
            <th scope="col">Where</th>
            <th scope="col">Created</th>
            <th scope="col" class="num">
              Steps
            </th>
            <th scope="col" class="num">
              Records
            </th>
            <th scope="col" class="num">
              Size
            </th>
            <th scope="col" class="num">
              Epoch
            </th>
            <th scope="col">Pushed by</th>
          </tr>
        </thead>
        <tbody>
          {uuids.map((u) => {
            const r = remoteByUuid.get(u);
            const l = local.find((c) => c.uuid === u);
            const where = [localSet.has(u) ? 'local' : null, r?.source ?? null].filter(Boolean).join(' + ');
            return (
              <tr key={u}>
                <td class="mono" title={u}>
                  {short(u)}
                </td>
                <td>{where}</td>
                <td>{r ? fmtTime(r.created_at) : '—'}</td>
                <td class="num">{fmtNumber(r?.steps ?? l?.steps ?? null)}</td>
                <td class="num">{fmtNumber(r?.processed_records ?? l?.processed_records ?? null)}</td>
                <td class="num">{fmtBytes(r?.size ?? l?.size ?? null)}</td>
                <td class="num">{r?.epoch ?? '—'}</td>
                <td>{r?.pushed_by?.pipeline_name ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A push's progress as a whole percentage: 0 only before any byte moved, 100 only when every byte has, so
 * 265 B of 36.9 KiB shows 1%, not 0% (beside a bar that has visibly moved).
 */
function pushPercent(done: number, total: number): number {
  if (total <= 0 || done <= 0) return 0;
  if (done >= total) return 100;
  return Math.min(99, Math.max(1, Math.floor((done / total) * 100)));
}
