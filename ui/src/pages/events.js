// Events and webhooks: the event log a page at a time (newest page first, then
// older/newer by seq), webhooks and their deliveries with every attempt.
import { api } from '../api.js';
import { Loading, LoginPrompt, Problem, Section, Table, fmt, href, html, privateLocked, queryParams, useData, useToken } from '../ui.js';

export const EVENTS_PAGE = 50;
const NEWEST = '9007199254740991';

export function Events({ health, search }) {
  if (privateLocked(health, useToken()))
    return html`<h1 tabindex="-1">Events and webhooks</h1><${LoginPrompt} what="Reading events and webhooks (this server keeps them private)"/>`;
  return html`<${EventsPage} search=${search}/>`;
}

function EventsPage({ search }) {
  const q = queryParams(search);
  // Deliveries say whether targets answered, so the API keeps them behind a token
  // even when reads are public: without one, show the login prompt and ask nothing.
  const token = useToken();
  const events = useData((signal) => {
    const p = new URLSearchParams({ limit: String(EVENTS_PAGE) });
    if (q.after)
      p.set('after', q.after);
    else
      p.set('before', q.before || NEWEST);
    return api(`/v1/events?${p}`, { signal });
  }, [q.after, q.before]);
  const hooks = useData((signal) => api('/v1/webhooks', { signal }), []);
  const deliveries = useData((signal) => (q.webhook && token
    ? api(`/v1/webhooks/${encodeURIComponent(q.webhook)}/deliveries?limit=50${q.dcursor ? `&cursor=${encodeURIComponent(q.dcursor)}` : ''}`, { signal, auth: true })
    : Promise.resolve(null)), [q.webhook, q.dcursor, token]);

  // The first load waits for both lists, so the webhooks section does not move
  // when the events arrive.
  if (!events.data && !events.error && (events.loading || hooks.loading))
    return html`<h1 tabindex="-1">Events and webhooks</h1><${Loading} what="events and webhooks"/>`;
  const ev = events.data ? events.data.events : [];
  const first = ev.length ? ev[0].seq : null, last = ev.length ? ev[ev.length - 1].seq : null;
  return html`<h1 tabindex="-1">Events and webhooks</h1>
    <${Section} id="events" title="Event log">
      <${Problem} error=${events.error}/>
      ${events.loading && !events.data ? html`<${Loading} what="events"/>` : html`
        <${Table} id="events-table" caption=${ev.length ? `Events ${first} to ${last}, newest first` : 'Events'} cols=${[
          { label: 'Seq', key: 'seq', num: true }, { label: 'At', key: 'at' }, { label: 'Kind', render: (e) => html`<code>${e.kind}</code>` },
          { label: 'Subject', key: 'subject' }, { label: 'Data', render: (e) => html`<code class="data">${JSON.stringify(e.data)}</code>` },
        ]} rows=${ev.slice().reverse().map((e) => ({ ...e, key: e.seq }))} empty="No events here."/>
        <nav class="pager" aria-label="Pages of events">
          <a href=${href('/events', { webhook: q.webhook })}>Newest</a>
          ${first !== null && first > 1 ? html`<a rel="next" href=${href('/events', { before: first, webhook: q.webhook })}>Older events</a>` : html`<span class="muted">Older events</span>`}
          ${last !== null && (q.before || q.after) ? html`<a rel="prev" href=${href('/events', { after: last, webhook: q.webhook })}>Newer events</a>` : html`<span class="muted">Newer events</span>`}
        </nav>`}
    <//>
    <${Section} id="webhooks" title="Webhooks">
      <${Problem} error=${hooks.error}/>
      ${hooks.data ? html`<${Table} id="webhooks-table" caption="Webhooks (secrets are never shown)" cols=${[
        { label: 'Id', render: (w) => html`<a href=${href('/events', { webhook: w.id })} aria-current=${q.webhook === w.id ? 'true' : undefined}>${w.id}</a>` },
        { label: 'URL', key: 'url' }, { label: 'Events', key: 'events' },
        { label: 'Pending', num: true, render: (w) => w.deliveries.pending }, { label: 'Delivered', num: true, render: (w) => w.deliveries.delivered },
        { label: 'Failed', num: true, render: (w) => w.deliveries.failed },
      ]} rows=${hooks.data.webhooks.map((w) => ({ ...w, key: w.id }))} empty="No webhooks."/>` : html`<${Loading} what="webhooks"/>`}
      ${q.webhook && !token && html`<${LoginPrompt} what=${`Reading the deliveries of webhook ${q.webhook}`} needs="a token (read scope)"/>`}
      ${q.webhook && html`<${Problem} error=${deliveries.error}/>`}
      ${q.webhook && deliveries.data && html`
        <${Table} id="deliveries-table" caption=${`Deliveries of webhook ${q.webhook}`} cols=${[
          { label: 'Id', key: 'id', num: true }, { label: 'Event', render: (d) => `${d.event} (seq ${d.event_seq})` },
          { label: 'State', key: 'state' }, { label: 'Created', key: 'created_at' }, { label: 'Finished', key: 'finished_at' },
          { label: 'Next attempt', key: 'next_attempt_at' },
          { label: 'Attempts', render: (d) => (d.attempts.length ? html`<ol class="attempts">${d.attempts.map((a) => html`<li>#${a.attempt} ${a.at}: ${a.status_code !== null ? `HTTP ${a.status_code}` : fmt(null)}${a.error ? ` (${a.error})` : ''}, ${a.duration_ms} ms</li>`)}</ol>` : 'none') },
        ]} rows=${deliveries.data.deliveries.map((d) => ({ ...d, key: d.id }))} empty="No deliveries."/>
        ${deliveries.data.next_cursor && html`<p><a href=${href('/events', { ...q, dcursor: deliveries.data.next_cursor })}>More deliveries</a></p>`}`}
    <//>`;
}
