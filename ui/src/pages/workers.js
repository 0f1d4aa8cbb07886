// Workers: the registry with the API's filters and cursor pagination (one page of
// `limit` rows per request), and a worker's page with its lock, history and
// upgrade path.
import { useState } from 'preact/hooks';

import { api, supportStatus } from '../api.js';
import { DateField, Hash, Loading, LoginPrompt, Problem, Section, Status, Table, Warnings, fmt, href, html, navigate, privateLocked, queryParams, useData, useToken } from '../ui.js';

export const PAGE_SIZE = 50;
const UPGRADE_STEPS = 4;
// Cursors of the pages seen, per filter set, so "Previous page" needs no request.
const cursors = new Map();

export function Workers({ health, search }) {
  if (privateLocked(health, useToken()))
    return html`<h1 tabindex="-1">Workers</h1><${LoginPrompt} what="Reading the registry (this server keeps it private)"/>`;
  return html`<${WorkersList} health=${health} search=${search}/>`;
}

function WorkersList({ health, search }) {
  const q = queryParams(search);
  const filters = { python_line: q.python_line || '', runtime: q.runtime || '', status: q.status || '', ends_before: q.ends_before || '' };
  const page = Math.max(1, Number(q.page) || 1);
  const key = JSON.stringify(filters);
  const meta = useData((signal) => Promise.all([api('/v1/python', { signal }), api('/v1/runtimes', { signal })]), []);
  const list = useData((signal) => {
    const p = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const [k, v] of Object.entries(filters))
      if (v)
        p.set(k, v);
    if (q.cursor)
      p.set('cursor', q.cursor);
    const t0 = performance.now();
    return api(`/v1/workers?${p}`, { signal }).then((d) => ({ ...d, ms: performance.now() - t0, search }));
  }, [search]);

  if (!cursors.has(key))
    cursors.set(key, new Map([[1, '']]));
  const seen = cursors.get(key);
  if (q.cursor)
    seen.set(page, q.cursor);
  const setFilter = (k, v) => navigate(href('/workers', { ...filters, [k]: v }));
  const lines = meta.data ? meta.data[0].lines : [];
  const runtimes = meta.data ? meta.data[1].runtimes : [];
  const d = list.data;
  // Until the page of this URL arrives, the previous one stays on screen, marked.
  const stale = list.loading || (d && d.search !== search);
  if (d && d.next_cursor && !stale)
    seen.set(page + 1, d.next_cursor);

  // The filters' options come with the first page: both are drawn together.
  if (!meta.data && !meta.error)
    return html`<h1 tabindex="-1">Workers</h1><${Loading} what="workers"/>`;
  return html`<h1 tabindex="-1">Workers</h1>
    <form class="inline filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filters">
      <div class="field"><label for="f-line">Python line</label>
        <select id="f-line" value=${filters.python_line} onChange=${(e) => setFilter('python_line', e.currentTarget.value)}>
          <option value="">any</option>${lines.map((l) => html`<option value=${l.line}>${l.line}</option>`)}
          ${filters.python_line && !lines.some((l) => l.line === filters.python_line) && html`<option value=${filters.python_line}>${filters.python_line}</option>`}
        </select></div>
      <div class="field"><label for="f-runtime">Runtime</label>
        <select id="f-runtime" value=${filters.runtime} onChange=${(e) => setFilter('runtime', e.currentTarget.value)}>
          <option value="">any</option>${runtimes.map((r) => html`<option value=${r.id}>${r.id}</option>`)}
          ${filters.runtime && !runtimes.some((r) => r.id === filters.runtime) && html`<option value=${filters.runtime}>${filters.runtime}</option>`}
        </select></div>
      <div class="field"><label for="f-status">Status</label>
        <select id="f-status" value=${filters.status} onChange=${(e) => setFilter('status', e.currentTarget.value)}>
          <option value="">any</option><option value="active">active</option><option value="blocked">blocked</option>
        </select></div>
      <${DateField} id="f-ends" label="Line ends before" value=${filters.ends_before} onInput=${(v) => setFilter('ends_before', v)}/>
    </form>
    <${Problem} error=${list.error || meta.error}/>
    <div class="list-area" aria-busy=${list.loading ? 'true' : 'false'}>
      ${d ? html`
        <${Table} id="workers-table" caption=${`Workers, page ${page}${stale ? ' (loading)' : ''}`} cols=${[
          { label: 'Name', render: (w) => html`<a href=${href(`/workers/${encodeURIComponent(w.name)}`)}>${w.name}</a>` },
          { label: 'Python', key: 'python_line' }, { label: 'Runtime', key: 'runtime' },
          { label: 'Status', render: (w) => html`<${Status} value=${w.status}/>` },
          { label: 'End of support', render: (w) => fmt(w.support && w.support.end_of_support) },
          { label: 'Support', render: (w) => (w.support && w.support.status ? html`<${Status} value=${w.support.status}/>` : fmt(null)) },
          { label: 'Compatibility date', key: 'compatibility_date' }, { label: 'Updated', key: 'updated_at' },
        ]} rows=${d.workers.map((w) => ({ ...w, key: w.name }))} empty="No worker matches."/>
        <nav class="pager" aria-label="Pages of workers">
          ${page > 1 ? html`<a href=${href('/workers', { ...filters })}>First page</a>` : html`<span class="muted">First page</span>`}
          ${page > 1 && seen.has(page - 1)
            ? html`<a rel="prev" href=${href('/workers', { ...filters, cursor: seen.get(page - 1), page: page - 1 > 1 ? page - 1 : '' })}>Previous page</a>`
            : html`<span class="muted">Previous page</span>`}
          <span>Page ${page} · ${d.workers.length} shown</span>
          ${d.next_cursor && !stale
            ? html`<a rel="next" href=${href('/workers', { ...filters, cursor: d.next_cursor, page: page + 1 })}>Next page</a>`
            : html`<span class="muted">Next page</span>`}
        </nav>
        <p class="muted" id="workers-timing">Fetched ${d.workers.length} rows (limit ${PAGE_SIZE}) in ${Math.round(d.ms)} ms.</p>` : list.loading && html`<${Loading} what="workers"/>`}
    </div>`;
}

export function Worker({ health, params }) {
  if (privateLocked(health, useToken()))
    return html`<h1 tabindex="-1">Worker <code>${params.name}</code></h1><${LoginPrompt} what="Reading the registry (this server keeps it private)"/>`;
  return html`<${WorkerPage} health=${health} params=${params}/>`;
}

function WorkerPage({ health, params }) {
  const name = params.name;
  const { data, error, loading } = useData(async (signal) => {
    const [w, lines] = await Promise.all([api(`/v1/workers/${encodeURIComponent(name)}`, { signal }), api('/v1/python', { signal })]);
    return { w, lines: lines.lines };
  }, [name]);

  return html`<p class="crumbs"><a href=${href('/workers')}>Workers</a> /</p>
    <h1 tabindex="-1">Worker <code>${name}</code></h1>
    <${Problem} error=${error}/>
    ${loading && !data ? html`<${Loading} what="the worker"/>` : data && workerView(data, health)}`;
}

// The upgrade path is asked for, not loaded with the page: a move that would be
// blocked is a 422 of POST /v1/resolve, and a page load makes no refused request.
function UpgradePath({ w, lines, health }) {
  const [steps, setSteps] = useState(null);
  const [busy, setBusy] = useState(false);
  const line = w.python_line;
  async function load() {
    setBusy(true);
    // The upgrade path: what the policy does with this worker's inputs on the end
    // of support of its line and of each later line (resolves as of those dates;
    // they change nothing).
    const eos = w.support && w.support.end_of_support;
    const dates = eos ? [eos, ...lines.map((l) => l.end_of_support).filter((d) => d > eos)].slice(0, UPGRADE_STEPS) : [];
    setSteps(await Promise.all(dates.map((d) => api('/v1/resolve', { method: 'POST', body: {
      compatibility_date: w.compatibility_date, compatibility_flags: w.compatibility_flags,
      requirements: w.requirements, allow_experimental: w.allow_experimental, as_of: d > health.today ? d : health.today } })
      .then((res) => ({ date: d, res }), (error) => {
        if (error.name === 'AbortError')
          throw error;
        return { date: d, error };
      }))));
    setBusy(false);
  }
  return html`<ol class="plain" id="upgrade-steps">
      <li>Now: Python ${line} on ${fmt(w.runtime)}, supported until ${w.support.end_of_support}.</li>
      ${steps && steps.map(({ date, res, error }) => html`<li>On ${date}: ${step(res, error)}</li>`)}
    </ol>
    ${!steps && html`<p><button type="button" disabled=${busy} onClick=${load}>Show where the policy moves it</button>
      <span class="muted"> (resolves its inputs as of each end of support; changes nothing)</span></p>`}`;
}

function step(res, error) {
  if (error)
    return html`<${Problem} error=${error}/>`;
  const p = res.policy;
  if (!p)
    return 'no Python runtime.';
  if (p.upgrade)
    return html`moves to Python ${p.upgrade.to.python_line} (${p.upgrade.to.runtime}): ${p.upgrade.reason}${res.warnings.length ? html` <${Warnings} warnings=${res.warnings}/>` : ''}`;
  if (p.upgrade_blocked)
    return html`the move is blocked: <code>${p.upgrade_blocked.code || ''}</code> ${p.upgrade_blocked.message || fmt(p.upgrade_blocked)}`;
  return html`${p.status} (Python ${p.python_line}).`;
}

function workerView({ w, lines }, health) {
  const lock = w.lock || {};
  const line = w.python_line;
  const later = lines.filter((l) => line && l.first_release > (lines.find((x) => x.line === line) || {}).first_release);
  return html`
    <${Section} id="w-summary" title="Summary">
      <dl class="facts">
        <dt>Status</dt><dd><${Status} value=${w.status}/></dd>
        <dt>Python line</dt><dd>${fmt(w.python_line)}${w.support && w.support.status ? html` · <${Status} value=${w.support.status}/>` : ''}</dd>
        <dt>End of support</dt><dd>${fmt(w.support && w.support.end_of_support)}</dd>
        <dt>Runtime</dt><dd>${fmt(w.runtime)}</dd>
        <dt>Compatibility date</dt><dd>${w.compatibility_date}</dd>
        <dt>Flags</dt><dd>${fmt(w.compatibility_flags)}</dd>
        <dt>Requirements</dt><dd>${fmt(w.requirements)}</dd>
        <dt>Lock</dt><dd><${Hash} value=${w.lock_id}/></dd>
        <dt>Created</dt><dd>${w.created_at}</dd><dt>Updated</dt><dd>${w.updated_at}</dd>
      </dl>
      ${w.blocked && html`<div class="notice" role="note"><p><strong>Blocked</strong>: <code>${w.blocked.code}</code> ${w.blocked.message}
        ${w.blocked.packages && w.blocked.packages.length ? html` (packages: ${w.blocked.packages.join(', ')})` : ''}</p></div>`}
    <//>
    <${Section} id="w-upgrade" title="Upgrade path">
      ${!w.support || !w.support.end_of_support ? html`<p class="muted">No Python line: no end of support applies.</p>` : html`
        <${UpgradePath} w=${w} lines=${lines} health=${health}/>
        <${Table} caption="Later Python lines" cols=${[
          { label: 'Line', key: 'line' }, { label: 'First release', key: 'first_release' }, { label: 'End of support', key: 'end_of_support' },
          { label: `Status on ${health.today}`, render: (l) => html`<${Status} value=${supportStatus(l.end_of_support, health.today)}/>` },
        ]} rows=${later.map((l) => ({ ...l, key: l.line }))}/>`}
    <//>
    <${Section} id="w-history" title="History">
      <${Table} caption="Every lock this worker was pinned to" cols=${[
        { label: 'Seq', key: 'seq', num: true }, { label: 'At', key: 'at' }, { label: 'Kind', key: 'kind' },
        { label: 'Runtime', key: 'runtime' }, { label: 'Python', key: 'python_line' }, { label: 'Reason', key: 'reason' },
        { label: 'Lock', render: (x) => html`<${Hash} value=${x.lock_id}/>` },
      ]} rows=${w.history.map((x) => ({ ...x, key: x.seq }))}/>
    <//>
    <${Section} id="w-lock" title="Pinned lock">
      <dl class="facts"><dt>Package set</dt><dd>${fmt(lock.package_set)}</dd><dt>Bundle flag</dt><dd>${fmt(lock.bundle_flag)}</dd></dl>
      <${Table} caption=${`${(lock.packages || []).length} packages`} cols=${[
        { label: 'Name', key: 'name' }, { label: 'Version', key: 'version' },
        { label: 'SHA-256', render: (p) => html`<${Hash} value=${p.sha256}/>` },
      ]} rows=${(lock.packages || []).map((p) => ({ ...p, key: p.name }))}/>
    <//>`;
}
