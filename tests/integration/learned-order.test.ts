import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IndexedModel } from '../../core/src/workflow/predictor.js';
import { LiveStages } from '../../core/src/workflow/stages.js';
import { AnsweredMarks } from '../../core/src/prompt/order-mark.js';
import { endingRunning, followsStage } from '../../ext-proc/src/core/routing/learned-order.js';
import { learnedCoding } from '../../test-support/src/replica-decisions.js';

// planner explorer[3,4] engineer{3,6} reviewer verifier
const model = new IndexedModel(learnedCoding);

/** A session whose planner ran and whose explorers (`explorers` of them) started at 100 ms. */
function session(explorers: number): LiveStages {
  const live = new LiveStages();
  live.start('planner', 0);
  live.end();
  for (let i = 0; i < explorers; i++) live.start('explorer', 100);
  return live;
}

test('a request the model has after the running stage, never within it, follows it when the stage ran elsewhere', () => {
  const live = session(3);
  assert.equal(followsStage(live, 'engineer', 0, model, 500), true, 'engineer+explorer was never a stage');
  assert.equal(
    followsStage(live, 'engineer', 1, model, 500),
    false,
    'one of them runs here: its end is not late',
  );
  assert.equal(followsStage(live, 'engineer', 0, model, 100.5), false, 'launched with the stage: a sibling');
  assert.equal(
    followsStage(live, 'reviewer', 0, model, 500),
    false,
    'the model has no reviewer after the explorers',
  );
  assert.equal(
    followsStage(live, 'explorer', 0, model, 500),
    false,
    'a fourth explorer: a stage the model knows',
  );
  assert.equal(
    followsStage(session(4), 'explorer', 0, model, 500),
    false,
    'a fifth: the model has no explorer after the explorers',
  );
  const engineering = session(3);
  for (let i = 0; i < 3; i++) engineering.end();
  engineering.start('engineer', 600);
  assert.equal(
    followsStage(engineering, 'engineer', 0, model, 900),
    true,
    'an engineer after an engineer: two at once were never learned',
  );
  const idle = session(1);
  idle.end();
  assert.equal(followsStage(idle, 'engineer', 0, model, 500), false, 'nothing runs: it opens a stage anyway');
});

test('a request that follows the stage opens the next one, and settles the running requests as a proof would', () => {
  const order = new AnsweredMarks({ messages: [{ role: 'user', content: 'engineer, build it' }] });
  const marked = session(0);
  // Marked explorers, as the replica events carry them.
  for (const text of ['a', 'b', 'c'])
    marked.start('explorer', 100, undefined, {
      mark: { index: 1, hash: text.charCodeAt(0) },
      proves: () => false,
    });
  assert.equal(marked.start('engineer', 500, undefined, endingRunning(order)), true, 'opens a stage');
  assert.deepEqual(marked.roles(), ['planner', 'explorer', 'engineer']);
  assert.equal(marked.running, 1, 'only the engineer runs');
  assert.equal(order.proved.length, 3, 'the explorers, told to the other replicas');
  // Their ends, arriving late, clear the proofs and nothing else.
  for (const text of ['a', 'b', 'c']) marked.end({ index: 1, hash: text.charCodeAt(0) });
  assert.equal(marked.running, 1);
});
