/**
 * The state machines, table-driven: for each machine, every (from, to) pair of its states is tried against an
 * expected list written out here (independently of the table), so a move added to or dropped from a table, or
 * a `transition()` that stops checking, fails a test. Then the wiring: the pipeline process lifecycle and the
 * controller refuse a forbidden move through their public methods and keep their state.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONTROLLER_TRANSITIONS,
  Controller,
  transition as controllerMove,
} from '../../../src/controller/controller.ts';
import { isServiceError } from '../../../src/errors/service-error.ts';
import {
  DEPLOYMENT_TRANSITIONS,
  transition as deploymentMove,
} from '../../../src/manager/deployment-status.ts';
import {
  PHASE_TRANSITIONS,
  PipelineLifecycle,
  transition as phaseMove,
} from '../../../src/server/lifecycle.ts';
import { compileProgram } from '../../../src/sql/program.ts';
import { ERROR_CATALOG } from '../../../src/types/error-codes.ts';
import { RESOURCES_STATUSES } from '../../../src/types/pipeline-api.ts';

/** Tries every pair; `allowed` lists each state's expected moves. */
function checkMachine<S extends string>(
  states: readonly S[],
  table: Readonly<Record<S, readonly S[]>>,
  move: (from: S, to: S) => S,
  allowed: Readonly<Record<S, readonly S[]>>,
): void {
  assert.deepEqual(Object.keys(table).sort(), [...states].sort(), 'the table has a row for every state');
  let ok = 0;
  let refused = 0;
  for (const from of states)
    for (const to of states) {
      if (allowed[from].includes(to)) {
        assert.equal(move(from, to), to, `${from} → ${to} is allowed`);
        ok++;
      } else {
        assert.throws(
          () => move(from, to),
          (e: unknown) =>
            isServiceError(e, 'InvalidTransition') &&
            e.details.from === from &&
            e.details.to === to &&
            e.message.includes(`from ${from} to ${to}`),
          `${from} → ${to} is refused`,
        );
        refused++;
      }
    }
  assert.equal(ok + refused, states.length ** 2);
  assert.ok(ok > 0 && refused > 0);
}

test('InvalidTransition is in the catalog (400, not retryable)', () => {
  assert.equal(ERROR_CATALOG.InvalidTransition.status, 400);
  assert.equal(ERROR_CATALOG.InvalidTransition.retryable, false);
});

test('pipeline process lifecycle: every allowed and every forbidden phase move', () => {
  checkMachine(
    ['Initializing', 'AwaitingApproval', 'Bootstrapping', 'Standby', 'Ready', 'Failed'] as const,
    PHASE_TRANSITIONS,
    phaseMove,
    {
      Initializing: ['AwaitingApproval', 'Bootstrapping', 'Standby', 'Ready', 'Failed'],
      AwaitingApproval: ['Initializing', 'Failed'],
      Bootstrapping: ['Ready', 'Failed'],
      Standby: ['Initializing', 'Failed'],
      Ready: [],
      Failed: [],
    },
  );
});

test('controller state: every allowed and every forbidden move', () => {
  checkMachine(
    ['Running', 'Paused', 'Terminated', 'Failed'] as const,
    CONTROLLER_TRANSITIONS,
    controllerMove,
    {
      Running: ['Paused', 'Terminated', 'Failed'],
      Paused: ['Running', 'Terminated', 'Failed'],
      Failed: ['Terminated'],
      Terminated: [],
    },
  );
});

test('manager deployment status: every allowed and every forbidden move (the moves api.ts makes)', () => {
  checkMachine(RESOURCES_STATUSES, DEPLOYMENT_TRANSITIONS, deploymentMove, {
    Stopped: ['Stopped', 'Provisioning'],
    Provisioning: ['Provisioning', 'Provisioned', 'Stopping', 'Stopped'],
    Provisioned: ['Provisioned', 'Provisioning', 'Stopping', 'Stopped'],
    Stopping: ['Stopping', 'Provisioned', 'Stopped'],
  });
});

const program = await compileProgram('CREATE TABLE t (x INT); CREATE VIEW v AS SELECT x FROM t;');

test('the lifecycle moves through its table: a forbidden move throws and leaves the phase as it was', async () => {
  const standby = { stats: () => ({}) as never, activate: () => {} };
  const life = new PipelineLifecycle();
  const phase = (): string => life.phase.kind;
  life.standby(standby);
  assert.equal(phase(), 'Standby');
  assert.throws(
    () => life.bootstrapping(),
    (e: unknown) => isServiceError(e, 'InvalidTransition'),
  );
  assert.equal(phase(), 'Standby');
  life.initializing('activating');
  const c = new Controller(program);
  life.ready(c);
  assert.equal(phase(), 'Ready');
  for (const move of [() => life.standby(standby), () => life.initializing(null), () => life.bootstrapping()])
    assert.throws(move, (e: unknown) => isServiceError(e, 'InvalidTransition'));
  assert.equal(phase(), 'Ready');
  assert.equal(life.controller, c);
  c.terminate();
});

test('the controller moves through its table: Terminated is final, pause/resume do nothing where they do not apply', () => {
  const c = new Controller(program);
  assert.equal(c.state, 'Running');
  c.resume(); // already running: nothing
  c.pause();
  assert.equal(c.state, 'Paused');
  c.pause();
  assert.equal(c.state, 'Paused');
  c.resume();
  assert.equal(c.state, 'Running');
  c.terminate();
  assert.equal(c.state, 'Terminated');
  c.resume();
  c.pause();
  c.terminate();
  assert.equal(c.state, 'Terminated');
});
