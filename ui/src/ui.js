// Shared pieces: the html tag, the router, data loading, and small components.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

import { ApiError, getToken } from './api.js';

export const html = htm.bind(h);
export const BASE = '/ui';

/* ----------------------------------------------------------------- router */

export function navigate(href, { replace = false } = {}) {
  if (replace)
    history.replaceState(null, '', href);
  else
    history.pushState(null, '', href);
  window.dispatchEvent(new Event('almanac:navigate'));
}

export function useLocation() {
  const [loc, setLoc] = useState(() => ({ path: location.pathname, search: location.search }));
  useEffect(() => {
    const on = () => setLoc({ path: location.pathname, search: location.search });
    window.addEventListener('popstate', on);
    window.addEventListener('almanac:navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('almanac:navigate', on);
    };
  }, []);
  return loc;
}

// Links inside the dashboard change the page without reloading it.
export function installLinkHandler() {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download'))
      return;
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || !(u.pathname === BASE || u.pathname.startsWith(`${BASE}/`)))
      return;
    e.preventDefault();
    navigate(u.pathname + u.search + u.hash);
  });
}

export function queryParams(search) {
  return Object.fromEntries(new URLSearchParams(search));
}

export function href(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '')
      q.set(k, v);
  const s = q.toString();
  return `${BASE}${path}${s ? `?${s}` : ''}`;
}

/* ------------------------------------------------------------------- data */

// Load data for a page: loader(signal) returns a promise; deps re-run it.
export function useData(loader, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ loading: true, data: s.data, error: null }));
    loader(ctl.signal).then(
      (data) => { if (!ctl.signal.aborted) setState({ loading: false, data, error: null }); },
      (error) => { if (!ctl.signal.aborted) setState({ loading: false, data: null, error }); });
    return () => ctl.abort();
  }, deps);
  return state;
}

export function useToken() {
  const [t, setT] = useState(getToken());
  useEffect(() => {
    const on = () => setT(getToken());
    window.addEventListener('almanac:token', on);
    return () => window.removeEventListener('almanac:token', on);
  }, []);
  return t;
}

/* ------------------------------------------------------------- components */

// A problem document: title, status, detail and every errors[] entry with all its
// fields, as the API gave them.
export function Problem({ error }) {
  if (!error)
    return null;
  const p = error instanceof ApiError ? error.problem : { title: 'Error', detail: String(error.message || error), errors: [] };
  const errors = Array.isArray(p.errors) ? p.errors : [];
  return html`<div class="problem" role="alert">
    <p class="problem-title"><strong>${p.title || 'Error'}</strong>${p.status ? html` <span class="muted">(HTTP ${p.status})</span>` : ''}</p>
    ${p.detail && html`<p class="problem-detail">${p.detail}</p>`}
    ${errors.length > 0 && html`<ul class="problem-errors">
      ${errors.map((e) => html`<li><code>${e.code}</code> ${e.message}${extraFields(e)}</li>`)}
    </ul>`}
  </div>`;
}

function extraFields(e) {
  const rest = Object.entries(e).filter(([k]) => k !== 'code' && k !== 'message');
  if (!rest.length)
    return '';
  return html` <span class="muted">(${rest.map(([k, v], i) => html`${i ? '; ' : ''}${k}: <code>${typeof v === 'string' ? v : JSON.stringify(v)}</code>`)})</span>`;
}

// Warnings ride along in successful responses: shown with every field too.
export function Warnings({ warnings }) {
  if (!warnings || !warnings.length)
    return html`<p class="muted">No warnings.</p>`;
  return html`<ul class="warnings">${warnings.map((w) => html`<li><code>${w.code}</code> ${w.message}${extraFields(w)}</li>`)}</ul>`;
}

export function Loading({ what = 'data' }) {
  return html`<p class="loading" role="status">Loading ${what}…</p>`;
}

// A table with a caption; cols: [{label, key | render, num}].
export function Table({ caption, cols, rows, empty = 'None.', id, className = '' }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table id=${id} class=${className}>
      <caption>${caption}</caption>
      <thead><tr>${cols.map((c) => html`<th scope="col" class=${c.num ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
      <tbody>
        ${rows.length === 0
          ? html`<tr><td colspan=${cols.length} class="muted">${empty}</td></tr>`
          : rows.map((r, i) => html`<tr key=${r.key ?? i}>${cols.map((c) => html`<td class=${c.num ? 'num' : ''}>${c.render ? c.render(r) : fmt(r[c.key])}</td>`)}</tr>`)}
      </tbody>
    </table>
  </div>`;
}

export function fmt(v) {
  if (v === null || v === undefined)
    return html`<span class="muted">—</span>`;
  if (typeof v === 'boolean')
    return v ? 'yes' : 'no';
  if (Array.isArray(v))
    return v.length ? v.join(', ') : html`<span class="muted">none</span>`;
  if (typeof v === 'object')
    return html`<code>${JSON.stringify(v)}</code>`;
  return String(v);
}

export function bytes(n) {
  if (n === null || n === undefined)
    return html`<span class="muted">—</span>`;
  return `${n.toLocaleString('en-US')} B`;
}

export function Status({ value }) {
  return html`<span class=${`badge badge-${value}`}>${value}</span>`;
}

export function Hash({ value }) {
  if (!value)
    return fmt(value);
  return html`<code class="hash" title=${value}>${value}</code>`;
}

export function DateField({ id, label, value, onInput, required = false, hint }) {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} name=${id} type="date" value=${value} required=${required}
      onInput=${(e) => onInput(e.currentTarget.value)} aria-describedby=${hint ? `${id}-hint` : undefined}/>
    ${hint && html`<small id=${`${id}-hint`} class="muted">${hint}</small>`}
  </div>`;
}

export function LoginPrompt({ what, needs = 'an admin token' }) {
  const next = location.pathname + location.search;
  return html`<div class="notice" role="note">
    <p>${what} needs ${needs}. <a href=${href('/login', { next })}>Log in</a> by pasting one
      (<code>almanacd token create --data DIR</code> prints one).</p>
  </div>`;
}

export function MirrorNote({ health }) {
  return html`<div class="notice mirror" role="note">
    <p>This server is a mirror of <strong>${upstreamOf(health) || 'its upstream'}</strong>: it serves the
      catalog read-only. Make this change on the upstream server.</p>
  </div>`;
}

// Under --private-reads the registry, events and webhooks answer only with a read
// token: without one, a page shows the login prompt instead of asking for them.
export function privateLocked(health, token) {
  return !!(health && health.private_reads && !token);
}

export function upstreamOf(health) {
  return (health && (health.upstream || (health.mirror && typeof health.mirror === 'object' && health.mirror.upstream))) || '';
}

export function isMirror(health) {
  return !!(health && (health.mirror === true || (health.mirror && typeof health.mirror === 'object') || health.upstream));
}

export function Section({ title, id, children }) {
  return html`<section id=${id} aria-labelledby=${`${id}-h`}>
    <h2 id=${`${id}-h`}>${title}</h2>
    ${children}
  </section>`;
}
