import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveStages, insertSorted, segmentStages } from '../src/workflow/stages.js';
import { AnsweredMarks, type OrderMark, orderMark } from '../src/prompt/order-mark.js';
import { seededRandom } from '../../test-support/src/workloads/rng.js';

test('overlapping requests form one stage; later ones start the next', () => {
  const stages = segmentStages([
    { agent: 'planner', startMs: 0, endMs: 100 },
    { agent: 'explorer', startMs: 200, endMs: 400 },
    { agent: 'explorer', startMs: 210, endMs: 500 },
    { agent: 'explorer', startMs: 450, endMs: 600 }, // starts while the second still runs
    { agent: 'engineer', startMs: 700, endMs: 900 },
    { agent: 'engineer', startMs: 1000, endMs: 1200 },
  ]);
  assert.deepEqual(
    stages.map((s) => [s.role, s.width]),
    [
      ['planner', 1],
      ['explorer', 3],
      ['engineer', 1],
      ['engineer', 1],
    ],
  );
});

test('out-of-order input gives the same stages; mixed parallel roles are joined', () => {
  const a = segmentStages([
    { agent: 'writer', startMs: 900, endMs: 950 },
    { agent: 'summariser', startMs: 500, endMs: 800 },
    { agent: 'searcher', startMs: 505, endMs: 700 },
  ]);
  assert.deepEqual(
    a.map((s) => s.role),
    ['searcher+summariser', 'writer'],
  );
});

test('live segmentation agrees with the offline rule', () => {
  const live = new LiveStages();
  assert.equal(live.start('planner', 0), true);
  live.end();
  assert.equal(live.start('explorer', 200), true);
  assert.equal(live.start('explorer', 205), false, 'joins while the first runs');
  live.end();
  live.end();
  assert.equal(live.start('engineer', 400), true);
  assert.deepEqual(live.roles(), ['planner', 'explorer', 'engineer']);
});

test('a fast sequential step is never merged into the stage before it, online or offline', () => {
  // A 2-token classifier on a cached prefix answers in 3 ms; the searches start right after.
  const offline = segmentStages([
    { agent: 'classifier', startMs: 100, endMs: 103 },
    { agent: 'kb_search', startMs: 103, endMs: 140 },
    { agent: 'kb_search', startMs: 103, endMs: 150 },
  ]);
  assert.deepEqual(
    offline.map((s) => [s.role, s.width]),
    [
      ['classifier', 1],
      ['kb_search', 2],
    ],
  );
  const live = new LiveStages();
  live.start('classifier', 100);
  live.end();
  assert.equal(live.start('kb_search', 103), true, 'the classifier had answered: a new stage');
  assert.equal(live.start('kb_search', 103), false);
  assert.deepEqual(live.roles(), ['classifier', 'kb_search']);
});

test("online, a request whose history answers a running request's last message opens the next stage", () => {
  const planner = orderMark({
    messages: [
      { role: 'system', content: 'plan' },
      { role: 'user', content: 'task' },
    ],
  });
  const explorer = {
    messages: [
      { role: 'system', content: 'explore' },
      { role: 'user', content: 'task' },
      { role: 'assistant', content: 'the plan' },
      { role: 'user', content: 'explore a' },
    ],
  };
  const order = (json: Record<string, unknown>) => {
    const answered = new AnsweredMarks(json);
    return { mark: orderMark(json), proves: (m: OrderMark) => answered.proves(m) };
  };
  const live = new LiveStages();
  assert.equal(live.start('planner', 0, undefined, { mark: planner, proves: () => false }), true);
  // The planner's end has not been seen; the explorer's history holds its answer.
  assert.equal(live.start('explorer', 50, undefined, order(explorer)), true);
  assert.equal(live.running, 1);
  // A sibling handed the same conversation proves nothing about the first explorer.
  const sibling = { messages: [...explorer.messages.slice(0, 3), { role: 'user', content: 'explore b' }] };
  assert.equal(live.start('explorer', 60, undefined, order(sibling)), false);
  assert.equal(live.running, 2);
  live.end(planner); // the planner's late end clears its proof only
  assert.equal(live.running, 2);
  live.end(orderMark(explorer));
  live.end(orderMark(sibling));
  assert.equal(live.running, 0);
  assert.deepEqual(live.roles(), ['planner', 'explorer']);
});

test('a mark needs the answer after that very message, at its place or later', () => {
  const mark = orderMark({
    messages: [
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ],
  })!;
  assert.deepEqual(mark.index, 1);
  const proves = (messages: Array<{ role: string; content: string }>) =>
    new AnsweredMarks({ messages }).proves(mark);
  assert.equal(
    proves([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ]),
    false,
  );
  assert.equal(
    proves([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'x' },
    ]),
    true,
  );
  assert.equal(
    proves([
      { role: 'user', content: 'b' },
      { role: 'assistant', content: 'x' },
    ]),
    false,
    'earlier place',
  );
  assert.equal(
    proves([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'bb' },
      { role: 'assistant', content: 'x' },
    ]),
    false,
  );
  assert.equal(orderMark({ prompt: 'completions' }), null);
});

test('insertSorted keeps a sorted, distinct list in sort() order', () => {
  const list: string[] = [];
  const items = ['b', 'a', 'b', 'Z', 'é', 'a', 'aa', '', 'b+c', '\u{1F600}', '\uFFFF'];
  const added = items.map((item) => insertSorted(list, item));
  assert.deepEqual(added, [true, true, false, true, true, false, true, true, true, true, true]);
  assert.deepEqual(list, [...new Set(items)].sort());
});

test('live stages: the kept role and width equal those rebuilt from every request', () => {
  // The reference keeps every agent of the current stage and rebuilds its role per call.
  class Reference {
    private agents: string[] = [];
    private inFlight = 0;
    private lastStart = Number.NEGATIVE_INFINITY;
    private readonly history: string[] = [];
    start(agent: string, nowMs: number): boolean {
      const joins = this.agents.length > 0 && (this.inFlight > 0 || nowMs - this.lastStart < 1);
      this.lastStart = nowMs;
      if (!joins) {
        if (this.agents.length > 0) {
          this.history.push([...new Set(this.agents)].sort().join('+'));
          if (this.history.length > 64) this.history.shift();
        }
        this.agents = [];
      }
      this.agents.push(agent);
      this.inFlight++;
      return !joins;
    }
    end(): void {
      if (this.inFlight > 0) this.inFlight--;
    }
    roles(): string[] {
      const current = [...new Set(this.agents)].sort().join('+');
      return this.agents.length > 0 ? [...this.history, current] : [...this.history];
    }
    get width(): number {
      return this.agents.length;
    }
  }
  const random = seededRandom(11);
  const names = ['planner', 'explorer', 'engineer', 'reviewer', 'a+b', 'Zeta', 'é'];
  const live = new LiveStages();
  const reference = new Reference();
  let now = 0;
  let running = 0;
  for (let step = 0; step < 5000; step++) {
    if (running > 0 && random() < 0.6) {
      live.end();
      reference.end();
      running--;
    } else {
      now += random() < 0.3 ? 0 : Math.floor(random() * 3);
      const agent = names[Math.floor(random() * names.length)] as string;
      assert.equal(live.start(agent, now), reference.start(agent, now));
      running++;
    }
    assert.deepEqual(live.roles(), reference.roles());
    assert.equal(live.currentWidth, reference.width);
    assert.equal(live.running, running);
  }
});

test('live stages: the roles a request would give by joining, and the launch window', () => {
  const live = new LiveStages();
  assert.deepEqual(live.rolesJoined('planner'), ['planner']);
  assert.equal(live.launchedWith(0), false, 'no stage yet');
  live.start('planner', 0);
  live.end();
  live.start('searcher', 100);
  assert.deepEqual(live.rolesJoined('writer'), ['planner', 'searcher+writer']);
  assert.deepEqual(live.rolesJoined('searcher'), ['planner', 'searcher']);
  assert.deepEqual(live.roles(), ['planner', 'searcher'], 'nothing changes');
  assert.equal(live.launchedWith(100.5), true);
  assert.equal(live.launchedWith(101), false);
});
