// Pure helpers of the dashboard, unit-tested by format.test.js (node --test).

/** fmtDur formats seconds as 1.2s, 3m04s, 2h05m. */
export function fmtDur(sec) {
  if (sec == null || !isFinite(sec) || sec < 0) return '–';
  if (sec < 10) return sec.toFixed(1) + 's';
  sec = Math.round(sec);
  if (sec < 60) return sec + 's';
  if (sec < 3600) return Math.floor(sec / 60) + 'm' + String(sec % 60).padStart(2, '0') + 's';
  if (sec < 86400) return Math.floor(sec / 3600) + 'h' + String(Math.floor(sec / 60) % 60).padStart(2, '0') + 'm';
  return Math.floor(sec / 86400) + 'd' + String(Math.floor(sec / 3600) % 24).padStart(2, '0') + 'h';
}

/** fmtRate formats microtasks per second. */
export function fmtRate(r) {
  if (!r || r <= 0) return '–';
  return (r >= 100 ? r.toFixed(0) : r.toFixed(1)) + '/s';
}

/** fmtAgo formats how long ago an ISO time was, from now (ms). */
export function fmtAgo(iso, now) {
  const t = Date.parse(iso);
  if (!t || t < 0) return 'never';
  return fmtDur(Math.max(0, (now - t) / 1000)) + ' ago';
}

/** eta is the job's ETA as text: '–' once it ended, '?' while nothing
 * is known; while some stage has no timing yet (so its work is left out)
 * the estimate is a lower bound, shown as '≥ 1m05s'. */
export function eta(job) {
  if (job.state !== 'running') return '–';
  if (!job.eta) return '?';
  if (!job.eta.known) return job.eta.remaining_s > 0 ? '≥ ' + fmtDur(job.eta.remaining_s) : '?';
  return fmtDur(job.eta.remaining_s);
}

/** stageTotal is a stage's expected microtasks (never below what exists). */
export function stageTotal(s) {
  const c = s.counts || {};
  const have = (c.ready || 0) + (c.running || 0) + (c.done || 0) + (c.failed || 0) + (c.dead || 0) + (c.canceled || 0);
  return Math.max(s.expected || 0, have);
}

/** progress is a job's share of microtasks ended (done, dead or canceled), 0..1. */
export function progress(job) {
  let total = 0, ended = 0;
  for (const s of job.stages || []) {
    const c = s.counts || {};
    total += stageTotal(s);
    ended += (c.done || 0) + (c.dead || 0) + (c.canceled || 0);
  }
  if (job.state === 'completed' || job.state === 'completed_with_errors') return 1;
  return total > 0 ? Math.min(1, ended / total) : 0;
}

/** shares splits a stage's bar into done, running, failed and dead parts (fractions of total). */
export function shares(s) {
  const c = s.counts || {};
  const total = stageTotal(s);
  if (total <= 0) return { done: 0, running: 0, failed: 0, dead: 0 };
  const f = (n) => (n || 0) / total;
  return { done: f(c.done), running: f(c.running), failed: f(c.failed), dead: f(c.dead) };
}

/** layers places the stages of a DAG in columns: a stage's column is the
 * length of the longest path to it from the job's input. */
export function layers(stages) {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const depth = new Map();
  const visit = (s, seen) => {
    if (depth.has(s.name)) return depth.get(s.name);
    if (seen.has(s.name)) return 0; // a cycle cannot be submitted; be safe anyway
    seen.add(s.name);
    let d = 0;
    for (const a of s.after || []) {
      const u = byName.get(a);
      if (u) d = Math.max(d, visit(u, seen) + 1);
    }
    depth.set(s.name, d);
    return d;
  };
  stages.forEach((s) => visit(s, new Set()));
  const cols = [];
  for (const s of stages) {
    const d = depth.get(s.name);
    (cols[d] = cols[d] || []).push(s);
  }
  return cols.filter(Boolean);
}

/** curves groups training metric points into charts, one per metric name,
 * each with one series per stage (and fold or trial), sorted by step:
 * [{name, xs:[steps], series:[{label, ys:[values or null]}]}]. */
export function curves(points) {
  const byName = new Map();
  for (const p of points || []) {
    if (typeof p.value !== 'number' || typeof p.step !== 'number') continue;
    const name = String(p.name || 'value');
    const label = [p.stage, p.series].filter(Boolean).join(' · ') || name;
    if (!byName.has(name)) byName.set(name, new Map());
    const m = byName.get(name);
    if (!m.has(label)) m.set(label, new Map());
    m.get(label).set(p.step, p.value);
  }
  const out = [];
  for (const [name, m] of byName) {
    const steps = new Set();
    for (const pts of m.values()) for (const s of pts.keys()) steps.add(s);
    const xs = [...steps].sort((a, b) => a - b);
    const series = [...m].map(([label, pts]) => ({ label, ys: xs.map((x) => (pts.has(x) ? pts.get(x) : null)) }));
    out.push({ name, xs, series });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** filterJobs applies the jobs list's filters: state ('' for all) and a
 * text matched against id and name. Newest first. */
export function filterJobs(jobs, state, text) {
  const q = (text || '').trim().toLowerCase();
  return jobs
    .filter((j) => !state || j.state === state)
    .filter((j) => !q || j.id.toLowerCase().includes(q) || (j.name || '').toLowerCase().includes(q))
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : a.id < b.id ? 1 : -1));
}

/** page returns the n-th page (0-based) of size items and the page count. */
export function page(list, n, size) {
  const pages = Math.max(1, Math.ceil(list.length / size));
  const p = Math.min(Math.max(0, n), pages - 1);
  return { items: list.slice(p * size, p * size + size), page: p, pages };
}

/** rates turns samples of a done count at times ts (seconds) into the
 * rate between each sample and the one before: [[times], [per second]]. */
export function rates(ts, done) {
  const xs = [], ys = [];
  for (let i = 1; i < ts.length; i++) {
    const dt = ts[i] - ts[i - 1];
    if (dt <= 0) continue;
    xs.push(ts[i]);
    ys.push(Math.max(0, (done[i] - done[i - 1]) / dt));
  }
  return [xs, ys];
}
