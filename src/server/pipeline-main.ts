/**
 * `holdfast pipeline run --config FILE`: one pipeline process, runnable alone or spawned by the manager.
 *
 * The config file is JSON: Feldera's PipelineConfig (runtime_config fields flattened at top level, `name`,
 * `given_name`, `storage_config`) plus `program_code` (the SQL) and `http` (`{bind, port}`; default
 * 127.0.0.1, port 0 = any free port). Once listening it prints one JSON line to stdout:
 * `{"event":"listening","port":N,"incarnation_uuid":…}` — the manager (and tests) read the port from it.
 * Logs go to stderr as JSON lines. SIGTERM/SIGINT stop it cleanly.
 */

import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { startConnectors } from '../connectors/connectors.ts';
import { Controller, type ControllerOptions } from '../controller/controller.ts';
import { FtJournal } from '../controller/ft-journal.ts';
import { StoreCheckpointWriter } from '../controller/store-writer.ts';
import { readUserFile } from '../errors/read-user-file.ts';
import { ServiceError } from '../errors/service-error.ts';
import { compileProgram } from '../sql/program.ts';
import { DECIMAL_CODEC } from '../sql/values/decimal-codec.ts';
import { FtConfigError, type FtSettings, ftSettings } from '../types/ft-config.ts';
import { createPipelineServer } from './pipeline-server.ts';

export interface PipelineProcessConfig {
  readonly name?: string;
  readonly given_name?: string;
  readonly program_code: string;
  readonly http?: { readonly bind?: string; readonly port?: number };
  readonly initial?: 'running' | 'paused';
  readonly storage_config?: { readonly path?: string } | null;
  readonly [k: string]: unknown;
}

export function readPipelineConfig(path: string): PipelineProcessConfig {
  const text = readUserFile(path, 'pipeline config');
  let cfg: unknown;
  try {
    cfg = JSON.parse(text);
  } catch (e) {
    throw new ServiceError(
      'InvalidArguments',
      `pipeline config '${path}' is not valid JSON: ${(e as Error).message}`,
      { path },
    );
  }
  if (
    typeof cfg !== 'object' ||
    cfg === null ||
    typeof (cfg as { program_code?: unknown }).program_code !== 'string'
  ) {
    throw new ServiceError(
      'InvalidArguments',
      `pipeline config '${path}' needs a "program_code" string with the SQL program`,
      { path },
    );
  }
  const initial = (cfg as { initial?: unknown }).initial;
  if (initial !== undefined && initial !== 'running' && initial !== 'paused') {
    throw new ServiceError(
      'InvalidArguments',
      `"initial" must be "running" or "paused", got ${JSON.stringify(initial)}`,
      { path },
    );
  }
  return cfg as PipelineProcessConfig;
}

/**
 * Splits a checkpoint's `inputs` into connector positions and the records after each position the checkpoint
 * already holds (`{position, skip}` entries; a bare position from an older checkpoint means skip 0).
 */
export function splitInputPositions(inputs: Readonly<Record<string, unknown>>): {
  inputs: Record<string, unknown>;
  skips: Record<string, number>;
} {
  const positions: Record<string, unknown> = {};
  const skips: Record<string, number> = {};
  for (const [name, v] of Object.entries(inputs)) {
    if (typeof v === 'object' && v !== null && 'skip' in v && 'position' in v) {
      const e = v as { position: unknown; skip: unknown };
      if (e.position !== null) positions[name] = e.position;
      skips[name] = typeof e.skip === 'number' ? e.skip : 0;
    } else positions[name] = v;
  }
  return { inputs: positions, skips };
}

export function jsonLog(name: string) {
  return (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) => {
    process.stderr.write(
      `${JSON.stringify({ ts: new Date().toISOString(), level, pipeline: name, message, ...fields })}\n`,
    );
  };
}

/** Starts the pipeline process; resolves once listening. */
export async function runPipelineProcess(configPath: string): Promise<void> {
  const cfg = readPipelineConfig(configPath);
  const name = cfg.given_name ?? cfg.name ?? 'pipeline';
  const log = jsonLog(name);
  let ft: FtSettings;
  try {
    ft = ftSettings(cfg);
  } catch (e) {
    if (e instanceof FtConfigError) throw new ServiceError(e.code, e.message, {});
    throw e;
  }
  const program = await compileProgram(cfg.program_code);
  const fingerprint = createHash('sha256').update(cfg.program_code).digest('hex').slice(0, 16);
  // Storage: checkpoints live under storage_config.path (the manager sets it per pipeline), or next to the
  // config file for a pipeline run alone.
  let writer: StoreCheckpointWriter | null = null;
  let restore: ControllerOptions['restore'];
  let restoredOutputs: Record<string, unknown> = {};
  let ftJournal: ControllerOptions['ft'];
  if (ft.storage) {
    const dir = cfg.storage_config?.path ?? join(dirname(resolvePath(configPath)), 'storage');
    const opened = await StoreCheckpointWriter.open(join(dir, 'checkpoint-store'), [DECIMAL_CODEC], log);
    writer = opened.writer;
    const latest = opened.latest;
    if (latest) {
      if (latest.manifest.fingerprint !== fingerprint) {
        throw new ServiceError(
          'ProgramChangedSinceCheckpoint',
          `the program changed since checkpoint ${latest.entry.uuid} was written, and bootstrapping is not implemented yet; restore the previous SQL, or stop the pipeline and clear its storage`,
          { checkpoint: latest.entry.uuid },
        );
      }
      restore = {
        base: latest.snapshot,
        deltas: latest.deltas,
        processedRecords: latest.manifest.processed_records,
        transactionId: latest.manifest.transaction_id ?? 0,
        ...splitInputPositions(latest.manifest.inputs ?? {}),
      };
      restoredOutputs = latest.manifest.outputs ?? {};
      log(
        'info',
        `resuming from checkpoint ${latest.entry.uuid} (${latest.manifest.processed_records} records processed)`,
        {
          checkpoint: latest.entry.uuid,
        },
      );
    }
  }
  if (ft.storage && ft.model !== 'none') {
    // the journal: what happened since the checkpoint (exactly_once: every step; at_least_once: pushed data)
    const dir = cfg.storage_config?.path ?? join(dirname(resolvePath(configPath)), 'storage');
    ftJournal = FtJournal.open(join(dir, 'journal'), ft.model, restore?.transactionId ?? 0, [DECIMAL_CODEC], {
      log: (m) => log('warn', m),
    });
  }
  const controller = new Controller(program, {
    initialState: cfg.initial === 'paused' ? 'Paused' : 'Running',
    log,
    ...(restore ? { restore } : {}),
    ...(ftJournal ? { ft: ftJournal } : {}),
    deferInitialStep: true,
  });
  if (writer) controller.enableCheckpoints(writer, { intervalSecs: ft.checkpointIntervalSecs, fingerprint });
  // Connectors declared in SQL (WITH ('connectors' = ...)); relative file paths resolve against the working
  // directory (the manager starts pipelines in its own). Replayable inputs resume from the checkpoint.
  const connectors = await startConnectors(controller, program, {
    log: (level, message, fields) => log(level, message, fields),
    ...(restore?.inputs ? { positions: restore.inputs as Record<string, never> } : {}),
    ft: ft.storage ? ft.model : 'none',
    outputs: restoredOutputs,
  });
  controller.begin(); // output connectors listen now: they see the initial step too
  const server = createPipelineServer(controller, { name });
  const bind = cfg.http?.bind ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.http?.port ?? 0, bind, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  log('info', `pipeline listening on ${bind}:${port}`, { port });
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', port, incarnation_uuid: controller.incarnationUuid })}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', `received ${signal}, stopping`);
    const finish = () => {
      controller.terminate();
      server.closeAllConnections();
      // let a checkpoint being written finish (it is atomic either way), then exit
      void (controller.checkpointer?.flush() ?? Promise.resolve()).finally(() =>
        server.close(() => process.exit(0)),
      );
    };
    connectors.stop().then(finish, (e: unknown) => {
      log('error', `stopping connectors failed: ${(e as Error).message}`);
      finish();
    });
    setTimeout(() => process.exit(0), 2000).unref();
  };
  if (process.env.HOLDFAST_MANAGED === '1') {
    process.stdin.on('data', () => {});
    process.stdin.once('end', () => stop('the manager exited'));
  }
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
