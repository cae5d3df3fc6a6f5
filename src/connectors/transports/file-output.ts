/**
 * `file_output`: writes a view's changes to a file with the connector's format (JSON insert/delete lines or CSV
 * rows with a weight column), one write per step in which the view changed.
 *
 * Config (Feldera's): `path` (required; plain path or `file://` URL). The file is created or truncated at start.
 * Writes are synchronous (`writeSync` inside the step's listener), so once the step that produced a change has
 * completed its text is in the file; `stop()` fsyncs and closes it. Not fault tolerant (as in Feldera): after a
 * crash and restart, output is written again from the restart.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { ViewSchema } from '../../sql/schema.ts';
import { type ConnectorContext, type ConnectorSpec, configError } from './config.ts';
import { resolveFilePath } from './file-input.ts';
import { type BatchEncoder, outputEncoder } from './output-encoders.ts';
import type { ConnectorHost, ConnectorLog, ConnectorState, RunningConnector } from './types.ts';

const KNOWN_KEYS = ['path'];

/** Validates config and format; returns the resolved path and encoder. */
export function checkFileOutput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  view: ViewSchema,
  baseDir: string,
  log: ConnectorLog,
): { path: string; encoder: BatchEncoder } {
  for (const k of Object.keys(spec.config)) {
    if (!KNOWN_KEYS.includes(k))
      log(
        'warn',
        `connector '${ctx.connector}' of view '${ctx.relation}': ignoring unknown file_output option '${k}'`,
      );
  }
  return {
    path: resolveFilePath(ctx, spec.config.path, baseDir),
    encoder: outputEncoder(ctx, spec.format, view.columns),
  };
}

export function startFileOutput(
  ctx: ConnectorContext,
  spec: ConnectorSpec,
  view: ViewSchema,
  host: ConnectorHost,
  log: ConnectorLog,
  options: { baseDir: string },
): RunningConnector {
  const { path, encoder } = checkFileOutput(ctx, spec, view, options.baseDir, log);
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw configError(ctx, `cannot create '${path}': ${(e as Error).message}`, 'FileReadError', { path });
  }
  let state: ConnectorState = 'running';
  let error: string | null = null;
  let records = 0;
  let bytes = 0;
  const endpoint = `${ctx.relation}.${ctx.connector}`;
  let unlisten: (() => void) | null = null;
  const listener = (change: Parameters<BatchEncoder>[0]) => {
    if (state !== 'running') return;
    try {
      const { text, records: n } = encoder(change);
      if (text === '') return;
      const buf = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      records += n;
      bytes += buf.length;
    } catch (e) {
      state = 'failed';
      error = `writing '${path}' failed: ${(e as Error).message}`;
      log('error', `${endpoint}: ${error}`, { endpoint });
    }
  };
  try {
    unlisten = host.listen(view.name, listener);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let closed = false;
  return {
    settled: new Promise<void>(() => {}),
    position: () => null,
    status: () => ({
      endpoint,
      relation: ctx.relation,
      connector: ctx.connector,
      transport: ctx.transport,
      direction: 'output',
      state,
      records,
      bytes,
      parseErrors: 0,
      error,
      position: null,
    }),
    stop: async () => {
      if (closed) return;
      closed = true;
      unlisten?.();
      if (state === 'running') state = 'stopped';
      try {
        fsyncSync(fd);
      } catch {
        // fsync is best effort (some file systems refuse it)
      }
      closeSync(fd);
    },
  };
}
