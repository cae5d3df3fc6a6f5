/**
 * The lifecycle buttons of one pipeline, chosen by its `deployment_status`: start (running, paused or
 * standby), pause, resume, stop (with a checkpoint, or forced), clear storage, delete, dismiss an error.
 * Each sends one `/v0` request and returns at once (the polls show the transition); an error answer is shown
 * next to the buttons. Activation and bootstrap approval live on the pipeline page, where what they will do
 * is explained.
 */
import { useState } from 'preact/hooks';
import type { PipelineStatusDescr } from '../client/index.ts';
import { attempt, useSession } from './util.tsx';

export function Actions({
  p,
  onDone,
  compact,
}: {
  p: PipelineStatusDescr;
  onDone: () => void;
  compact?: boolean;
}) {
  const { client } = useSession();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = (action: () => Promise<unknown>) => async () => {
    setBusy(true);
    await attempt(setError, action);
    setBusy(false);
    onDone();
  };
  const n = p.name;
  const s = p.deployment_status;
  const compiled = p.program_status === 'Success';
  const buttons: Array<[string, () => Promise<void>, string?]> = [];
  if (s === 'Stopped') {
    if (compiled) {
      buttons.push(['Start', run(() => client.startPipeline(n, 'running'))]);
      if (!compact) {
        buttons.push(['Start paused', run(() => client.startPipeline(n, 'paused'))]);
        buttons.push(['Start as standby', run(() => client.startPipeline(n, 'standby'))]);
      }
    }
    if (p.storage_status === 'InUse') buttons.push(['Clear storage', run(() => client.clearStorage(n))]);
    if (p.storage_status === 'Cleared')
      buttons.push([
        'Delete',
        run(async () => {
          if (confirm(`Delete pipeline '${n}'? Its program and configuration are removed.`)) {
            await client.deletePipeline(n);
            if (location.hash.includes('/p/')) location.hash = '#/';
          }
        }),
        'danger',
      ]);
    if (p.deployment_error) buttons.push(['Dismiss error', run(() => client.dismissError(n))]);
  } else {
    if (s === 'Running') buttons.push(['Pause', run(() => client.pausePipeline(n))]);
    if (s === 'Paused') buttons.push(['Resume', run(() => client.resumePipeline(n))]);
    if (s === 'Running' || s === 'Paused')
      buttons.push([
        'Stop',
        run(() => client.stopPipeline(n, false)),
        'title:suspend with a checkpoint, then stop',
      ]);
    if (s !== 'Stopping') buttons.push(['Force stop', run(() => client.stopPipeline(n, true)), 'danger']);
  }
  return (
    <div class="actions">
      {buttons.map(([label, fn, extra]) => (
        <button
          key={label}
          type="button"
          class={extra === 'danger' ? 'danger' : ''}
          title={extra?.startsWith('title:') ? extra.slice(6) : undefined}
          disabled={busy}
          onClick={() => void fn()}
          aria-label={compact ? `${label} ${n}` : undefined}
        >
          {label}
        </button>
      ))}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
