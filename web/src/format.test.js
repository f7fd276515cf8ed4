import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtDur, progress, shares, layers, curves, filterJobs, page, eta, rates } from './format.js';

test('fmtDur', () => {
  assert.equal(fmtDur(1.23), '1.2s');
  assert.equal(fmtDur(184), '3m04s');
  assert.equal(fmtDur(16.4), '16s');
  assert.equal(fmtDur(7500), '2h05m');
  assert.equal(fmtDur(-1), '–');
});

test('progress and shares of a job', () => {
  const job = { state: 'running', stages: [
    { name: 'a', expected: 10, counts: { done: 4, running: 2, dead: 1 } },
    { name: 'b', expected: 10, counts: { done: 0 } },
  ] };
  assert.equal(progress(job), 5 / 20);
  assert.deepEqual(shares(job.stages[0]), { done: 0.4, running: 0.2, failed: 0, dead: 0.1 });
  assert.equal(eta({ state: 'running', eta: { known: true, remaining_s: 65 } }), '1m05s');
  assert.equal(eta({ state: 'completed' }), '–');
  assert.equal(eta({ state: 'running', eta: { known: false, remaining_s: 12 } }), '≥ 12s');
  assert.equal(eta({ state: 'running', eta: { known: false, remaining_s: 0 } }), '?');
});

test('layers of a DAG', () => {
  const cols = layers([
    { name: 'merge', after: ['a', 'b'] }, { name: 'a', after: ['input'] },
    { name: 'b', after: ['a'] }, { name: 'c', after: ['input'] },
  ]);
  assert.deepEqual(cols.map((c) => c.map((s) => s.name)), [['a', 'c'], ['b'], ['merge']]);
});

test('curves group points by metric and series', () => {
  const cs = curves([
    { stage: 'train', series: '', name: 'loss', step: 2, value: 0.4 },
    { stage: 'train', series: '', name: 'loss', step: 1, value: 0.5 },
    { stage: 'cv', series: 'fold 2', name: 'loss', step: 1, value: 0.6 },
    { stage: 'train', series: '', name: 'accuracy', step: 1, value: 0.8 },
    { stage: 'train', name: 'bad', step: 'x', value: 1 },
  ]);
  assert.deepEqual(cs.map((c) => c.name), ['accuracy', 'loss']);
  const loss = cs[1];
  assert.deepEqual(loss.xs, [1, 2]);
  assert.deepEqual(loss.series, [
    { label: 'train', ys: [0.5, 0.4] },
    { label: 'cv · fold 2', ys: [0.6, null] },
  ]);
});

test('filter and page jobs', () => {
  const jobs = [
    { id: 'j1', name: 'resize', state: 'running', created_at: '2026-01-01T00:00:01Z' },
    { id: 'j2', name: 'train', state: 'completed', created_at: '2026-01-01T00:00:02Z' },
    { id: 'j3', name: 'resize big', state: 'running', created_at: '2026-01-01T00:00:03Z' },
  ];
  assert.deepEqual(filterJobs(jobs, 'running', '').map((j) => j.id), ['j3', 'j1']);
  assert.deepEqual(filterJobs(jobs, '', 'BIG').map((j) => j.id), ['j3']);
  const p = page([1, 2, 3, 4, 5], 9, 2);
  assert.deepEqual(p, { items: [5], page: 2, pages: 3 });
});

test('rates from samples of a done count', () => {
  assert.deepEqual(rates([10, 12, 12, 14], [0, 10, 10, 30]), [[12, 14], [5, 10]]);
  assert.deepEqual(rates([], []), [[], []]);
});
