// Overview: lines and runtimes with their status as of a date, counts of workers
// (from GET /v1/workers/stats: grouped by the server, the registry is never
// listed), the next ends of support and the most recent events.
import { api, supportStatus } from '../api.js';
import { DateField, Loading, LoginPrompt, Problem, Section, Status, Table, fmt, href, html, navigate, privateLocked, queryParams, useData, useToken } from '../ui.js';

const RECENT = 10;
const NEWEST = '9007199254740991';

export function Overview({ health, search }) {
  const q = queryParams(search);
  const asOf = q.as_of || health.today;
  const locked = privateLocked(health, useToken());
  const none = Promise.resolve(null);
  const { data, error, loading } = useData((signal) => Promise.all([
    api('/v1/python', { signal }),
    api('/v1/runtimes', { signal }),
    locked ? none : api(`/v1/workers/stats?as_of=${encodeURIComponent(asOf)}`, { signal }),
    locked ? none : api(`/v1/events?before=${NEWEST}&limit=${RECENT}`, { signal }),
  ]), [asOf, locked]);

  return html`<h1 tabindex="-1">Overview</h1>
    <form class="inline" onSubmit=${(e) => e.preventDefault()}>
      <${DateField} id="as-of" label="Status as of" value=${asOf}
        onInput=${(v) => v && navigate(href('/', { as_of: v === health.today ? '' : v }), { replace: true })}/>
      <p class="muted">Showing <strong>${asOf}</strong>${asOf === health.today ? ' (today)' : ''}.</p>
    </form>
    ${error && html`<${Problem} error=${error}/>`}
    ${loading && !data ? html`<${Loading} what="the overview"/>` : data && body(data, asOf)}`;
}

const NO_STATS = { total: 0, by_status: { active: 0, blocked: 0 }, by_line: [], by_runtime: [] };

function body([lines, runtimes, statsOrNull, events], asOf) {
  const locked = statsOrNull === null;
  const stats = statsOrNull || NO_STATS;
  const byLine = new Map(stats.by_line.map((x) => [x.python_line, x]));
  const byRuntime = new Map(stats.by_runtime.map((x) => [x.runtime, x]));
  const lineEos = new Map(lines.lines.map((l) => [l.line, l.end_of_support]));
  const upcoming = lines.lines.filter((l) => l.end_of_support >= asOf)
    .sort((a, b) => a.end_of_support.localeCompare(b.end_of_support)).slice(0, 3);
  const orphan = byLine.get(null);

  return html`
    ${locked ? html`<${LoginPrompt} what="Counting workers and reading events (this server keeps them private)"/>` : html`<div class="cards" role="list">
      <div class="card" role="listitem"><span class="big">${stats.total}</span> workers registered</div>
      <div class="card" role="listitem"><span class="big">${stats.by_status.active}</span> active</div>
      <div class="card" role="listitem"><span class="big">${stats.by_status.blocked}</span> blocked</div>
    </div>`}
    <${Section} id="lines" title="Python lines">
      <${Table} id="lines-table" caption=${`Python lines and their support as of ${asOf}`} cols=${[
        { label: 'Line', key: 'line' },
        { label: 'First release', key: 'first_release' },
        { label: 'End of support', key: 'end_of_support' },
        { label: `Status on ${asOf}`, render: (l) => html`<${Status} value=${supportStatus(l.end_of_support, asOf)}/>` },
        { label: 'Workers', num: true, render: (l) => count(byLine.get(l.line), 'workers', l.line) },
        { label: 'Blocked', num: true, render: (l) => count(byLine.get(l.line), 'blocked', l.line, 'blocked') },
      ]} rows=${lines.lines.map((l) => ({ ...l, key: l.line }))}/>
      ${orphan && html`<p class="muted">${orphan.workers} workers have no Python runtime.</p>`}
    <//>
    <${Section} id="next-eos" title="Next ends of support">
      ${upcoming.length === 0 ? html`<p>No line ends after ${asOf}.</p>` : html`<ul class="plain">
        ${upcoming.map((l) => html`<li>Python <strong>${l.line}</strong> ends <time datetime=${l.end_of_support}>${l.end_of_support}</time>: ${(byLine.get(l.line) || { workers: 0 }).workers} workers (<a href=${href('/eol', { as_of: l.end_of_support })}>plan for ${l.end_of_support}</a>)</li>`)}
      </ul>`}
    <//>
    <${Section} id="runtimes" title="Runtimes">
      <${Table} id="runtimes-table" caption="Pyodide runtimes" cols=${[
        { label: 'Runtime', key: 'id' },
        { label: 'Python', render: (r) => `${r.python} (${r.python_line})` },
        { label: 'Emscripten', key: 'emscripten' },
        { label: 'Release date', key: 'release_date' },
        { label: 'State', render: (r) => html`<${Status} value=${r.state}/>${r.deprecated ? ' deprecated' : ''}` },
        { label: `Line on ${asOf}`, render: (r) => html`<${Status} value=${supportStatus(lineEos.get(r.python_line), asOf)}/>` },
        { label: 'Workers', num: true, render: (r) => {
          const s = byRuntime.get(r.id);
          return s ? html`<a href=${href('/workers', { runtime: r.id })}>${s.workers}</a>` : '0';
        } },
      ]} rows=${runtimes.runtimes.map((r) => ({ ...r, key: r.id }))}/>
    <//>
    ${!locked && html`<${Section} id="recent" title="Recent events">
      <${Table} id="recent-events" caption=${`The ${RECENT} most recent events`} cols=${[
        { label: 'Seq', key: 'seq', num: true },
        { label: 'At', key: 'at' },
        { label: 'Kind', render: (e) => html`<code>${e.kind}</code>` },
        { label: 'Subject', key: 'subject' },
      ]} rows=${events.events.slice().reverse().map((e) => ({ ...e, key: e.seq }))}/>
      <p><a href=${href('/events')}>All events</a></p>
    <//>`}`;
}

function count(s, field, line, status) {
  const n = s ? s[field] : 0;
  if (!n)
    return '0';
  return html`<a href=${href('/workers', { python_line: line, status })}>${n}</a>`;
}

export { fmt };
