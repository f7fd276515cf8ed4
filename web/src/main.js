// The myriad dashboard: jobs, a job's stages and curves, workers,
// annotators, kept live by the coordinator's event stream (/v1/events).
// Everything from the server is rendered as text (Preact escapes it);
// nothing is ever set as HTML.
import { h, render } from 'preact';
import { useState, useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import { fmtDur, fmtRate, fmtAgo, eta, stageTotal, progress, shares, layers, curves, filterJobs, page, rates } from './format.js';

const html = htm.bind(h);
const PAGE = 50;

async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  if (!r.ok) {
    let msg = r.status + ' ' + r.statusText;
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return r.json();
}

// useRoute follows the location's hash: #/jobs, #/jobs/ID, #/workers, #/annotators.
function useRoute() {
  const [hash, setHash] = useState(location.hash || '#/jobs');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/jobs');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.slice(2).split('/').map(decodeURIComponent);
}

// useEvents opens one event stream and hands each event to the handlers.
function useEvents(query, handlers) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const [live, setLive] = useState(false);
  useEffect(() => {
    const es = new EventSource('/v1/events' + query);
    es.onopen = () => setLive(true);
    es.onerror = () => setLive(false);
    for (const name of ['jobs', 'workers', 'job', 'throughput']) {
      es.addEventListener(name, (e) => ref.current[name] && ref.current[name](JSON.parse(e.data)));
    }
    return () => es.close();
  }, [query]);
  return live;
}

function useNow(every) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(t);
  }, [every]);
  return now;
}

function Bar({ s }) {
  const sh = shares(s);
  const seg = (cls, f) => f > 0 && html`<span class=${'seg ' + cls} style=${{ width: (f * 100).toFixed(2) + '%' }}></span>`;
  return html`<div class="bar">${seg('done', sh.done)}${seg('dead', sh.dead)}${seg('failed', sh.failed)}${seg('running', sh.running)}</div>`;
}

function JobBar({ job }) {
  const p = progress(job);
  const c = job.counts || {};
  const ended = (c.done || 0) + (c.dead || 0) + (c.canceled || 0);
  // The ended share split into done and dead, plus what runs now.
  const dead = ended > 0 ? p * (c.dead || 0) / ended : 0;
  const run = p < 1 && ended > 0 ? Math.min(1 - p, p * (c.running || 0) / ended) : 0;
  const seg = (cls, f) => f > 0 && html`<span class=${'seg ' + cls} style=${{ width: (f * 100).toFixed(2) + '%' }}></span>`;
  return html`<div class="bar" title=${(p * 100).toFixed(1) + '%'}>${seg('done', p - dead)}${seg('dead', dead)}${seg('running', run)}</div>`;
}

function State({ state }) {
  return html`<span class=${'state st-' + state}>${state.replaceAll('_', ' ')}</span>`;
}

function Pager({ p, set }) {
  if (p.pages <= 1) return null;
  return html`<div class="pager">
    <button disabled=${p.page === 0} onClick=${() => set(p.page - 1)}>‹ prev</button>
    <span>page ${p.page + 1} of ${p.pages}</span>
    <button disabled=${p.page >= p.pages - 1} onClick=${() => set(p.page + 1)}>next ›</button></div>`;
}

// Jobs keeps every job listed, updated by the stream's deltas.
function Jobs() {
  const [jobs, setJobs] = useState(new Map());
  const [err, setErr] = useState('');
  const [state, setState] = useState('');
  const [text, setText] = useState('');
  const [pg, setPg] = useState(0);
  const now = useNow(1000);
  const reload = () => getJSON('/v1/jobs?limit=1000').then((list) => {
    setJobs((old) => { const m = new Map(old); for (const j of list) m.set(j.id, j); return m; });
    setErr('');
  }, (e) => setErr(e.message));
  useEffect(() => { reload(); }, []);
  const live = useEvents('?topics=jobs', {
    jobs: (ev) => {
      setJobs((old) => {
        const m = new Map(old);
        for (const j of ev.changed) m.set(j.id, j);
        for (const j of ev.ended) m.set(j.id, j);
        return m;
      });
      if (ev.resync) reload();
    },
  });
  const list = filterJobs([...jobs.values()], state, text);
  const p = page(list, pg, PAGE);
  return html`<section>
    <div class="toolbar">
      <h2>Jobs <span class="muted">${list.length} of ${jobs.size}</span></h2>
      <select aria-label="state" onChange=${(e) => { setState(e.target.value); setPg(0); }}>
        <option value="">all states</option>
        ${['running', 'completed', 'completed_with_errors', 'canceled'].map((s) => html`<option value=${s} selected=${state === s}>${s.replaceAll('_', ' ')}</option>`)}
      </select>
      <input type="search" placeholder="filter by id or name" value=${text} onInput=${(e) => { setText(e.target.value); setPg(0); }} />
      <${Live} live=${live} />
    </div>
    ${err && html`<p class="error">${err}</p>`}
    <table class="jobs">
      <thead><tr><th>job</th><th>name</th><th>state</th><th class="wide">progress</th><th>done</th><th>dead</th><th>rate</th><th>elapsed</th><th>ETA</th><th>age</th></tr></thead>
      <tbody>${p.items.map((j) => html`<tr key=${j.id} data-job=${j.id}>
        <td><a href=${'#/jobs/' + encodeURIComponent(j.id)}>${j.id}</a></td>
        <td>${j.name}</td><td><${State} state=${j.state} /></td>
        <td class="wide"><${JobBar} job=${j} /><span class="pct">${(progress(j) * 100).toFixed(1)}%</span></td>
        <td class="num">${j.counts.done}</td><td class="num">${j.counts.dead || ''}</td>
        <td class="num">${j.state === 'running' ? fmtRate(j.rate) : '–'}</td>
        <td class="num">${fmtDur(j.elapsed_s)}</td><td class="num eta">${eta(j)}</td>
        <td class="num">${fmtAgo(j.created_at, now)}</td></tr>`)}</tbody>
    </table>
    <${Pager} p=${p} set=${setPg} />
  </section>`;
}

function Live({ live }) {
  return html`<span class=${'live ' + (live ? 'on' : 'off')} title="live updates from /v1/events">${live ? '● live' : '○ reconnecting'}</span>`;
}

// Chart draws an uPlot line chart; data is [xs, ...ys].
function Chart({ title, data, labels, xTime, yLabel }) {
  const el = useRef(null);
  const plot = useRef(null);
  const key = labels.join('|');
  useEffect(() => {
    const width = Math.max(280, Math.min(el.current.clientWidth || 560, 640));
    const colors = ['#2f6fdf', '#d9622b', '#2c9c5a', '#9b4dca', '#c23b4e', '#6b7a8f'];
    plot.current = new uPlot({
      title, width, height: 220, scales: { x: { time: !!xTime } },
      axes: [{}, { label: yLabel || '' }],
      series: [{}, ...labels.map((l, i) => ({ label: l, stroke: colors[i % colors.length], width: 2, spanGaps: true }))],
    }, data, el.current);
    return () => { plot.current.destroy(); plot.current = null; };
  }, [key, title]);
  useEffect(() => { if (plot.current) plot.current.setData(data); }, [data]);
  return html`<div class="chart" ref=${el}></div>`;
}

// Curves shows a training job's loss and accuracy per epoch or round from
// GET /v1/jobs/{id}/metrics; hidden while the coordinator has none (404).
function Curves({ id, running }) {
  const [points, setPoints] = useState(null);
  useEffect(() => {
    let stop = false;
    const load = () => getJSON('/v1/jobs/' + encodeURIComponent(id) + '/metrics').then(
      (r) => { if (!stop) setPoints(r.points || []); },
      () => { if (!stop) setPoints(null); });
    load();
    const t = running ? setInterval(load, 5000) : null;
    return () => { stop = true; if (t) clearInterval(t); };
  }, [id, running]);
  const cs = curves(points);
  if (!cs.length) return null;
  return html`<section class="curves"><h3>Training curves</h3><div class="charts">
    ${cs.map((c) => html`<${Chart} key=${c.name} title=${c.name} labels=${c.series.map((s) => s.label)} data=${[c.xs, ...c.series.map((s) => s.ys)]} />`)}
  </div></section>`;
}

// Results shows the first lines of the job's results.
function Results({ id, state }) {
  const [lines, setLines] = useState(null);
  useEffect(() => {
    const ctl = new AbortController();
    (async () => {
      try {
        const r = await fetch('/v1/jobs/' + encodeURIComponent(id) + '/results', { signal: ctl.signal });
        if (!r.ok) return setLines([]);
        const reader = r.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        const out = [];
        while (out.length < 20) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n')) >= 0 && out.length < 20) {
            const line = buf.slice(0, i); buf = buf.slice(i + 1);
            if (line.trim()) { try { out.push(JSON.parse(line)); } catch (e) { /* skip */ } }
          }
        }
        ctl.abort();
        setLines(out);
      } catch (e) { if (e.name !== 'AbortError') setLines([]); }
    })();
    return () => ctl.abort();
  }, [id, state]);
  if (!lines) return null;
  return html`<section><h3>Results preview <span class="muted">first ${lines.length}</span></h3>
    ${lines.length === 0 ? html`<p class="muted">No results yet.</p>` : html`<table class="results"><thead><tr><th>item</th><th>stage</th><th>result</th></tr></thead>
    <tbody>${lines.map((l, i) => html`<tr key=${i}><td>${l.id}</td><td>${l.stage}</td>
      <td><code class=${l.error ? 'error' : ''}>${l.error ? l.error : JSON.stringify(l.data)}</code></td></tr>`)}</tbody></table>`}
  </section>`;
}

function Dag({ stages }) {
  return html`<div class="dag">${layers(stages).map((col, i) => html`<div class="col" key=${i}>
    ${col.map((s) => { const c = s.counts; return html`<div class=${'stage ss-' + s.state} data-stage=${s.name} key=${s.name}>
      <div class="stage-h"><b>${s.name}</b> <span class="muted">${s.op} · ${s.kind}</span> <span class="sstate">${s.state}</span></div>
      <${Bar} s=${s} />
      <div class="stage-n"><span class="k-done">${c.done}</span>${'/' + stageTotal(s) + ' done · '}<span class="k-running">${c.running}</span>${' running · '}<span class="k-failed">${c.failed}</span>${' failed · '}<span class="k-dead">${c.dead}</span>${' dead'}${c.ready ? ' · ' + c.ready + ' ready' : ''}${s.mean_ms ? ' · ' + fmtDur(s.mean_ms / 1000) + ' each' : ''}</div>
      ${(s.after || []).filter((a) => a !== 'input').length > 0 && html`<div class="after muted">← ${s.after.join(', ')}</div>`}
    </div>`; })}
  </div>`)}</div>`;
}

function Job({ id }) {
  const [job, setJob] = useState(null);
  const [err, setErr] = useState('');
  const [msg, setMsg] = useState('');
  const [tp, setTp] = useState([[], []]); // throughput samples: time (s), microtasks/s
  const last = useRef(null);
  useEffect(() => { setJob(null); setTp([[], []]); last.current = null; getJSON('/v1/jobs/' + encodeURIComponent(id)).then(setJob, (e) => setErr(e.message)); }, [id]);
  const live = useEvents('?topics=job&job=' + encodeURIComponent(id), {
    // The coordinator's samples of the job until now, then live ones.
    throughput: (h) => {
      setTp(rates(h.t, h.done));
      if (h.t.length) last.current = { t: h.t[h.t.length - 1], done: h.done[h.done.length - 1] };
    },
    job: (j) => {
      setJob(j);
      const t = Date.now() / 1000;
      const prev = last.current;
      last.current = { t, done: j.counts.done };
      if (prev && t - prev.t > 0.2) {
        const rate = Math.max(0, (j.counts.done - prev.done) / (t - prev.t));
        setTp(([xs, ys]) => [[...xs, t].slice(-600), [...ys, rate].slice(-600)]);
      }
    },
  });
  if (err) return html`<p class="error">${err}</p>`;
  if (!job) return html`<p class="muted">Loading…</p>`;
  const retry = async () => {
    setMsg('');
    try {
      const r = await getJSON('/v1/jobs/' + encodeURIComponent(id) + '/retry', { method: 'POST' });
      setJob(r.job);
      setMsg('Retrying ' + r.revived + ' dead microtask' + (r.revived === 1 ? '' : 's') + '.');
    } catch (e) { setMsg('Retry failed: ' + e.message); }
  };
  const canRetry = job.counts.dead > 0 && (job.state === 'running' || job.state === 'completed_with_errors');
  return html`<section class="job">
    <div class="toolbar"><h2><a href="#/jobs">Jobs</a> / ${job.id} <span class="muted">${job.name}</span></h2><${Live} live=${live} /></div>
    <div class="summary">
      <div><${State} state=${job.state} /></div>
      <div><span class="muted">elapsed</span> <b class="elapsed">${fmtDur(job.elapsed_s)}</b></div>
      <div><span class="muted">ETA</span> <b class="eta">${eta(job)}</b>${job.eta && job.state === 'running' ? html` <span class="muted" title="T = max(tmax, Σtᵢ/(M·c))">(${fmtDur(job.eta.work_s)} of work on ${job.eta.capacity} slots)</span>` : ''}</div>
      <div><span class="muted">rate</span> <b>${job.state === 'running' ? fmtRate(job.rate) : '–'}</b></div>
      <div><span class="muted">items</span> <b>${job.items}</b></div>
      <div><span class="muted">done</span> <b class="done-count">${job.counts.done}</b> <span class="muted">dead</span> <b class="dead-count">${job.counts.dead}</b></div>
      <div class="progress"><${JobBar} job=${job} /><span class="pct">${(progress(job) * 100).toFixed(1)}%</span></div>
    </div>
    <h3>Stages</h3>
    <${Dag} stages=${job.stages} />
    <section class="throughput"><h3>Throughput <span class="muted">microtasks done per second</span></h3>
      ${tp[0].length > 1 ? html`<${Chart} title="" xTime=${true} labels=${['done/s']} data=${tp} yLabel="microtasks/s" />` : html`<p class="muted">Waiting for samples…</p>`}
    </section>
    <${Curves} id=${id} running=${job.state === 'running'} />
    <section class="failures"><h3>Failures <span class="muted">${job.counts.dead} dead</span>
      ${canRetry && html` <button class="retry" onClick=${retry}>Retry dead microtasks</button>`}</h3>
      ${msg && html`<p class="msg">${msg}</p>`}
      ${(job.errors || []).length === 0 ? html`<p class="muted">No dead microtasks.</p>` : html`<table><thead><tr><th>microtask</th><th>stage</th><th>attempts</th><th>error</th></tr></thead>
        <tbody>${job.errors.map((e) => html`<tr key=${e.task}><td>${e.task}</td><td>${e.stage}</td><td class="num">${e.attempts}</td><td><code class="error">${e.error}</code></td></tr>`)}</tbody></table>`}
    </section>
    <${Results} id=${id} state=${job.state} />
  </section>`;
}

function Workers() {
  const [ws, setWs] = useState([]);
  const [pg, setPg] = useState(0);
  const now = useNow(1000);
  useEffect(() => { getJSON('/v1/workers').then(setWs, () => {}); }, []);
  const live = useEvents('?topics=workers', { workers: setWs });
  const alive = ws.filter((w) => w.state === 'alive');
  const p = page(ws, pg, 100);
  return html`<section>
    <div class="toolbar"><h2>Workers <span class="muted">${alive.length + ' alive of ' + ws.length + ' · ' + alive.reduce((n, w) => n + Math.max(0, w.slots - w.running), 0) + ' free of ' + alive.reduce((n, w) => n + w.slots, 0) + ' slots'}</span></h2><${Live} live=${live} /></div>
    <table class="workers"><thead><tr><th>worker</th><th>state</th><th>slots</th><th>free</th><th>load</th><th>ops</th><th>labels</th><th>last heartbeat</th><th>done</th><th>failures</th></tr></thead>
    <tbody>${p.items.map((w) => html`<tr key=${w.id} class=${'w-' + w.state} data-worker=${w.name || w.id}>
      <td title=${w.id}>${w.name || w.id}</td><td><span class=${'state ws-' + w.state}>${w.state === 'lost' ? 'LOST' : w.state}</span></td>
      <td class="num">${w.slots}</td><td class="num">${w.state === 'alive' ? Math.max(0, w.slots - w.running) : '–'}</td>
      <td class="num">${(w.load || 0).toFixed(2)}</td><td>${(w.ops || []).join(', ')}</td>
      <td>${Object.entries(w.labels || {}).map(([k, v]) => k + '=' + v).join(', ')}</td>
      <td>${fmtAgo(w.last_seen, now)}</td><td class="num">${w.done}</td><td class="num">${w.failures}</td></tr>`)}</tbody></table>
    <${Pager} p=${p} set=${setPg} />
  </section>`;
}

function Annotators() {
  const [list, setList] = useState(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const load = () => getJSON('/v1/annotators').then((l) => { setList(l); setErr(''); },
      (e) => setErr(e.status === 404 ? 'Human stages are not enabled on this coordinator.' : e.message));
    load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  const pctOf = (v) => (v == null ? '–' : (v * 100).toFixed(1) + '%');
  return html`<section><div class="toolbar"><h2>Annotators ${list && html`<span class="muted">${list.length}</span>`}</h2></div>
    ${err && html`<p class="muted">${err}</p>`}
    ${list && html`<table class="annotators"><thead><tr><th>annotator</th><th>state</th><th>answers</th><th>skips</th><th>gold accuracy</th><th>agreement</th><th>est. accuracy</th><th>median time</th><th>answers/h</th><th>leased</th></tr></thead>
    <tbody>${list.map((a) => html`<tr key=${a.id}><td>${a.name}</td>
      <td>${a.paused ? html`<span class="state ws-lost" title=${a.pause_reason || ''}>paused</span>` : 'active'}</td>
      <td class="num">${a.answers}</td><td class="num">${a.skips}</td>
      <td class="num">${pctOf(a.gold_accuracy)} <span class="muted">(${a.gold_correct}/${a.gold_answers})</span></td>
      <td class="num">${pctOf(a.agreement)}</td><td class="num">${pctOf(a.estimated_accuracy)}</td>
      <td class="num">${a.median_ms ? fmtDur(a.median_ms / 1000) : '–'}</td><td class="num">${a.answers_per_hour}</td><td class="num">${a.leased}</td></tr>`)}</tbody></table>`}
  </section>`;
}

function App() {
  const route = useRoute();
  let page;
  if (route[0] === 'jobs' && route[1]) page = html`<${Job} id=${route[1]} key=${route[1]} />`;
  else if (route[0] === 'workers') page = html`<${Workers} />`;
  else if (route[0] === 'annotators') page = html`<${Annotators} />`;
  else page = html`<${Jobs} />`;
  const tab = (name, href) => html`<a class=${route[0] === name ? 'on' : ''} href=${href}>${name}</a>`;
  return html`<header><h1>myriad</h1><nav>${tab('jobs', '#/jobs')}${tab('workers', '#/workers')}${tab('annotators', '#/annotators')}</nav>
    <a class="ext" href="/metrics">metrics</a></header><main>${page}</main>`;
}

render(html`<${App} />`, document.getElementById('app'));
