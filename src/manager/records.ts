/**
 * Helpers on pipeline records shared by the manager (supervisor callbacks) and its route handlers: status
 * changes with their `_since` timestamps, the state a (re)started process starts in, and record ids.
 */

import { uuidV7 } from '../util/uuid-v7.ts';
import { transition } from './deployment-status.ts';
import type { PipelineRecord, RuntimeDesiredStatus } from './store.ts';

export const now = (): string => new Date().toISOString();

/**
 * Moves the deployment status, only along the table of deployment-status.ts (a move it does not list throws
 * InvalidTransition: a bug, never a silent odd state); setting the status it has changes nothing.
 */
export function setResources(r: PipelineRecord, s: PipelineRecord['deployment_resources_status']): void {
  if (r.deployment_resources_status !== s) {
    r.deployment_resources_status = transition(r.deployment_resources_status, s);
    r.deployment_resources_status_since = now();
  }
}

export function setRuntime(r: PipelineRecord, s: PipelineRecord['deployment_runtime_status']): void {
  if (r.deployment_runtime_status !== s) {
    r.deployment_runtime_status = s;
    r.deployment_runtime_status_since = s === null ? null : now();
  }
}

/**
 * The state a (re)started process starts in: `deployment_initial`, except that a standby that was activated
 * starts in the state it was activated to (and paused/resumed to since): it owns the bucket now.
 */
export function processInitial(r: PipelineRecord): RuntimeDesiredStatus {
  const desired = r.deployment_runtime_desired_status;
  if (r.deployment_initial === 'Standby' && desired !== null && desired !== 'Standby') return desired;
  return r.deployment_initial ?? 'Running';
}

/** UUID v7 (time-ordered), so listing by id lists pipelines in creation order (the one generator in `util/`). */
export const uuidv7 = (): string => uuidV7();
