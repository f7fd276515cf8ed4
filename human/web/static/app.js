// myriad annotator app. Every piece of text from the server is put in the
// page with textContent: nothing a job or a person wrote is parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const VIEWS = ['signin', 'stages', 'instructions', 'task'];
const REASONS = {
  'no-work': 'No item needs you right now. Waiting for more…',
  'budget': 'This task’s budget is spent. Thank you!',
  'paused': 'You are paused on this task. Please contact the requester.',
  'not-qualified': 'You did not pass this task’s qualification test.',
  'limit': 'You reached the most answers allowed on this task. Thank you!',
  'labels': 'This task is for other annotators.',
  'loading': 'Loading the next item…',
  'error': 'The next item did not load.',
  'ended': 'This task has ended. Thank you!',
};

const state = {
  stage: null,        // the stage being worked on (api.AnnotateStage)
  queue: [],          // the annotator's current items, as the server sees them
  current: null,      // the item on screen
  shownAt: 0,
  inflight: new Set(),// items answered or skipped, not yet confirmed
  lastAnswer: 0,      // the task answered last: only it can be undone
  undo: null,         // {task, until}
  undoTimer: 0,
  polling: false,
  stagesTimer: 0,
  calmUntil: 0,       // after a 429, requests wait until then
  sending: Promise.resolve(), // the answers, skips and undos sent, in order
  retries: [],        // what the retry button does again
};

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// api calls the server. A 429 (too many requests) did nothing there: api
// says so, waits Retry-After (every request waits with it) and sends the
// same request again, so an answer is neither lost nor sent twice.
async function api(method, path, body) {
  const opts = { method, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  for (;;) {
    if (state.calmUntil > Date.now()) await sleep(state.calmUntil - Date.now());
    const res = await fetch(path, opts);
    let data = null;
    try { data = await res.json(); } catch (_) { /* empty body */ }
    if (res.status === 429) {
      const s = Math.min(Math.max(Number(res.headers.get('Retry-After')) || 1, 1), 60);
      state.calmUntil = Math.max(state.calmUntil, Date.now() + s * 1000);
      $('calm').textContent = 'Going too fast — waiting ' + s + ' s';
      $('calm').hidden = false;
      continue;
    }
    if (state.calmUntil <= Date.now()) $('calm').hidden = true;
    if (!res.ok) {
      const err = new Error((data && data.error) || res.statusText);
      err.status = res.status;
      throw err;
    }
    return data;
  }
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  $('progress').hidden = view !== 'task';
}

function status(msg) { $('status').textContent = msg || ''; }

// problem shows a failure with a retry button that runs again(), and
// what earlier problems asked for.
function problem(msg, again) {
  $('problem-text').textContent = msg;
  $('problem').hidden = false;
  state.retries.push(again);
}

function retry() {
  const todo = state.retries;
  if (!todo.length) return;
  state.retries = [];
  $('problem').hidden = true;
  for (const f of todo) f();
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function safeSrc(u) {
  return typeof u === 'string' && (/^https?:\/\//i.test(u) || /^data:image\/(png|jpeg|gif|webp);base64,/i.test(u));
}

// --- sign in ---------------------------------------------------------------

async function start() {
  const m = location.hash.match(/invite=([^&]+)/);
  if (m) {
    history.replaceState(null, '', location.pathname); // keep the token out of the history
    try {
      await api('POST', '/v1/annotate/signin', { token: decodeURIComponent(m[1]) });
    } catch (e) {
      show('signin');
      status('This invite link does not work: ' + e.message);
      return;
    }
  }
  let me;
  try {
    me = await api('GET', '/v1/annotate/me');
  } catch (e) {
    if (e.status === 401) { show('signin'); return; }
    problem(e.message, start);
    return;
  }
  $('who').textContent = me.name;
  $('signout').hidden = false;
  await loadStages(true);
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    await api('POST', '/v1/annotate/signin', { token: $('token').value.trim() });
    $('token').value = '';
    status('');
    await start();
  } catch (e) {
    status('Sign-in failed: ' + e.message);
  }
});

$('signout').addEventListener('click', async () => {
  try { await api('POST', '/v1/annotate/signout'); } catch (_) { /* signed out anyway */ }
  location.reload();
});

// --- stages and instructions -------------------------------------------------

async function loadStages(auto) {
  clearTimeout(state.stagesTimer);
  let stages;
  try {
    stages = await api('GET', '/v1/annotate/stages');
  } catch (e) {
    problem(e.message, () => loadStages(auto));
    return;
  }
  const open = stages.filter((s) => !s.blocked);
  if (auto && open.length === 1 && stages.length === 1) {
    openInstructions(open[0]);
    return;
  }
  const list = $('stage-list');
  clear(list);
  for (const s of stages) {
    const li = el('li');
    const b = el('button', s.blocked ? 'Closed' : 'Start');
    b.disabled = !!s.blocked;
    b.addEventListener('click', () => openInstructions(s));
    li.append(b, el('span', s.title));
    li.append(el('span', s.blocked ? (REASONS[s.blocked] || s.blocked) : s.my_answers + ' answered', 'meta'));
    list.append(li);
  }
  $('stages-empty').hidden = stages.length > 0;
  show('stages');
  state.stagesTimer = setTimeout(() => { if (!$('stages').hidden) loadStages(false); }, 10000);
}

function examples(list) {
  const box = el('div', null, 'examples');
  for (const ex of list || []) {
    if (ex.image && safeSrc(ex.image)) {
      const img = el('img');
      img.alt = 'example';
      img.src = ex.image;
      box.append(img);
    }
    if (ex.text) box.append(el('span', ex.text));
  }
  return box;
}

function openInstructions(stage) {
  state.stage = stage;
  $('ins-title').textContent = stage.title;
  $('ins-text').textContent = stage.instructions || '';
  const ol = $('ins-labels');
  clear(ol);
  stage.labels.forEach((l, i) => {
    const li = el('li');
    if (i < 9) li.append(el('kbd', i + 1), ' ');
    li.append(el('b', l.name));
    if (l.description) li.append(' — ', el('span', l.description, 'desc'));
    if (l.examples && l.examples.length) li.append(examples(l.examples));
    ol.append(li);
  });
  const rules = $('ins-rules');
  clear(rules);
  for (const r of stage.rules || []) rules.append(el('li', r));
  $('ins-rules-box').hidden = !(stage.rules && stage.rules.length);
  const q = stage.qualification;
  $('ins-qual').hidden = !q || q.result === 'passed';
  if (q) $('ins-qual').textContent = 'You start with a qualification test of ' + q.items + ' items.';
  show('instructions');
  $('begin').focus();
}

$('begin').addEventListener('click', () => beginTasks());
$('help').addEventListener('click', () => openInstructions(state.stage));

// --- tasks -------------------------------------------------------------------

function renderButtons() {
  const box = $('buttons');
  clear(box);
  state.stage.labels.forEach((l, i) => {
    const b = el('button');
    b.dataset.label = l.name;
    if (i < 9) b.append(el('kbd', i + 1), ' ');
    b.append(el('span', l.name));
    if (l.description) b.title = l.description;
    b.addEventListener('click', () => answer(l.name));
    box.append(b);
  });
}

async function beginTasks() {
  $('task-title').textContent = state.stage.title;
  renderButtons();
  show('task');
  if (state.current) { showTask(state.current); return; }
  await poll();
}

// poll asks for work until some comes (long polls of 25 s). It stops
// while answers are in flight: their replies bring the next items.
async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    for (;;) {
      const r = await api('POST', '/v1/annotate/next', { stage: state.stage.id, want: 2, wait_ms: 25000 });
      apply(r);
      if (state.current || $('task').hidden || state.inflight.size) break;
      if (r.reason && r.reason !== 'no-work' && r.reason !== 'budget') break;
    }
  } catch (e) {
    if (e.status === 404) { // the stage has ended
      if (!state.current) showTask(null, 'ended');
      return;
    }
    if (!state.current) showTask(null, 'error');
    problem(e.message, poll);
  } finally {
    state.polling = false;
  }
}

// apply takes the server's list of the annotator's current items.
function apply(r) {
  state.queue = (r.tasks || []).filter((t) => !state.inflight.has(t.id));
  progress(r.progress);
  const cur = state.current && state.queue.find((t) => t.id === state.current.id);
  if (!cur) showTask(state.queue[0] || null, r.reason || 'no-work');
}

function showTask(t, reason) {
  state.current = t;
  const img = $('item-image');
  const fields = $('item-fields');
  clear(fields);
  $('buttons').hidden = !t;
  $('skip').hidden = !t;
  $('item').hidden = !t;
  $('qual-note').hidden = !(t && t.qualification);
  $('waiting').hidden = !!t;
  if (!t) {
    $('waiting').textContent = REASONS[reason] || reason;
    img.hidden = true;
    img.removeAttribute('src');
    return;
  }
  const d = t.display || {};
  $('item-text').textContent = d.text || '';
  if (d.image && safeSrc(d.image)) {
    img.src = d.image;
    img.hidden = false;
  } else {
    img.hidden = true;
    img.removeAttribute('src');
  }
  for (const f of d.fields || []) fields.append(el('dt', f.name), el('dd', f.value));
  state.shownAt = performance.now();
  // Load the next image now so it appears at once.
  const next = state.queue.find((x) => x.id !== t.id);
  if (next && next.display && next.display.image && safeSrc(next.display.image)) new Image().src = next.display.image;
}

function progress(p) {
  if (!p) return;
  $('p-answers').textContent = p.answers;
  $('p-skips').textContent = p.skips;
  $('p-earned-box').hidden = !p.earned;
  $('p-earned').textContent = (p.earned || 0).toFixed(2) + (p.currency ? ' ' + p.currency : '');
  const q = p.qualification;
  $('p-qual-box').hidden = !q || q.result === 'passed';
  if (q) $('p-qual').textContent = q.result === 'pending' ? q.answered + ' of ' + q.items : q.result;
}

// advance shows the next queued item at once, before the server answers.
function advance(done) {
  state.inflight.add(done.id);
  state.queue = state.queue.filter((x) => x.id !== done.id);
  showTask(state.queue[0] || null, 'loading');
}

function answer(label) {
  const t = state.current;
  if (!t) return;
  const ms = Math.round(performance.now() - state.shownAt);
  advance(t);
  hideUndo(); // the server undoes only the last answer: this one
  state.lastAnswer = t.id;
  inOrder(() => send(t, 'answer', { label, ms, next: 2 }, 'Your answer was not saved: ', (r) => {
    // No undo_until: the answer completed its stage, which closed at once.
    if (state.lastAnswer === t.id && r.undo_until) offerUndo(t, label, r.undo_until);
  }));
}

function skip() {
  const t = state.current;
  if (!t) return;
  advance(t);
  inOrder(() => send(t, 'skip', { next: 2 }, 'Your skip was not saved: '));
}

// inOrder runs f once the answers, skips and undos sent before have
// their replies: the server takes them in the person's order, so the
// answer it would undo is the one the app offers to undo.
function inOrder(f) {
  state.sending = state.sending.then(f).catch((e) => status(e.message));
}

// send posts an answer or a skip of t, already off the screen. If the
// network or the server failed, t stays aside and the retry button sends
// the same request again; a refusal (t taken back, say) is only shown.
async function send(t, what, body, failed, done) {
  try {
    const r = await api('POST', '/v1/annotate/tasks/' + t.id + '/' + what, body);
    state.inflight.delete(t.id);
    if (done) done(r);
    status('');
    apply(r);
  } catch (e) {
    if (!e.status || e.status >= 500) {
      if (!state.current) showTask(null, 'error');
      problem(failed + e.message, () => inOrder(() => send(t, what, body, failed, done)));
      return;
    }
    state.inflight.delete(t.id);
    status(failed + e.message);
  }
  if (!state.current && !state.inflight.size) poll();
}

function offerUndo(t, label, until) {
  clearInterval(state.undoTimer);
  const end = until ? Math.min(Date.parse(until), Date.now() + 10000) : Date.now() + 10000;
  state.undo = { task: t, end };
  const tick = () => {
    const left = Math.ceil((state.undo.end - Date.now()) / 1000);
    if (left <= 0) { hideUndo(); return; }
    $('undo-text').textContent = 'Answered “' + label + '” (' + left + ' s)';
  };
  $('undo').hidden = false;
  tick();
  state.undoTimer = setInterval(tick, 250);
}

function hideUndo() {
  clearInterval(state.undoTimer);
  state.undo = null;
  $('undo').hidden = true;
}

function undo() {
  const u = state.undo;
  if (!u) return;
  hideUndo();
  inOrder(async () => {
    try {
      const r = await api('POST', '/v1/annotate/tasks/' + u.task.id + '/undo');
      state.current = null; // the undone item is first again
      apply(r);
      status('');
    } catch (e) {
      status('Undo failed: ' + e.message);
    }
  });
}

$('skip').addEventListener('click', () => skip());
$('undo-btn').addEventListener('click', () => undo());
$('retry').addEventListener('click', () => retry());

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target && (ev.target.tagName === 'INPUT' || ev.target.tagName === 'TEXTAREA')) return;
  if (!$('problem').hidden && (ev.key === 'r' || ev.key === 'R')) {
    ev.preventDefault();
    retry();
    return;
  }
  if (!$('instructions').hidden && ev.key === 'Enter') {
    ev.preventDefault();
    beginTasks();
    return;
  }
  if ($('task').hidden) return;
  if (ev.key >= '1' && ev.key <= '9') {
    const l = state.stage.labels[Number(ev.key) - 1];
    if (l) { ev.preventDefault(); answer(l.name); }
  } else if (ev.key === 's' || ev.key === 'S') {
    ev.preventDefault();
    skip();
  } else if (ev.key === 'u' || ev.key === 'U' || ev.key === 'z') {
    ev.preventDefault();
    undo();
  } else if (ev.key === '?') {
    ev.preventDefault();
    openInstructions(state.stage);
  }
});

start();
