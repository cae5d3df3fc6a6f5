/**
 * The manager's deployment status (`deployment_resources_status`) as a state machine: the moves the manager
 * makes, and one checked {@link transition}. The table is derived from every place api.ts changes the status
 * (its `setResources` calls, now in api.ts and routes/); `setResources` (records.ts) moves the status only
 * through {@link transition}.
 *
 *   Stopped ──start──▶ Provisioning ──(process listening)──▶ Provisioned ──stop──▶ Stopping ──(exit)──▶ Stopped
 *
 * The other moves, each made by the manager today:
 * - Provisioning → Provisioning / Provisioned → Provisioning: the process died unexpectedly and is restarted
 *   (and, at a manager restart, a pipeline that should run is started again from whatever was persisted).
 * - Stopped → Provisioning at a manager restart: a pipeline that should run but whose start failed (e.g.
 *   StorageFull writing its config) is tried again.
 * - Provisioned → Provisioning: `/start` while a graceful stop is still checkpointing (desired already Stopped).
 * - Provisioning → Stopped: the process could not be spawned (its config could not be written).
 * - Provisioning/Provisioned → Stopped: the process exited for good (stopped, or given up after repeated
 *   crashes), or a manager restart finds a pipeline that should be stopped.
 * - Provisioning/Provisioned → Stopping: `/stop`, or the pipeline failed.
 * - Stopping → Provisioned: a process being stopped announced itself before it exited (the exit follows).
 * - Stopping → Stopped: the process exited; or a manager restart finds it stopping.
 * - X → X: setting the status it already has changes nothing (not even `…_since`).
 * Never: Stopping → Provisioning (`/start` is refused with IllegalPipelineAction while stopping), Stopped →
 * Provisioned or Stopped → Stopping (there is no process).
 */
import type { ResourcesStatus } from '../types/pipeline-api.ts';
import { checkedMove, type TransitionTable } from '../util/transitions.ts';

export const DEPLOYMENT_TRANSITIONS = {
  Stopped: ['Stopped', 'Provisioning'],
  Provisioning: ['Provisioning', 'Provisioned', 'Stopping', 'Stopped'],
  Provisioned: ['Provisioned', 'Provisioning', 'Stopping', 'Stopped'],
  Stopping: ['Stopping', 'Provisioned', 'Stopped'],
} as const satisfies TransitionTable<ResourcesStatus>;

/**
 * The deployment status after moving `from` → `to`.
 * @throws ServiceError InvalidTransition (a move the table does not allow)
 */
export function transition(from: ResourcesStatus, to: ResourcesStatus): ResourcesStatus {
  return checkedMove('pipeline deployment', DEPLOYMENT_TRANSITIONS, from, to);
}
