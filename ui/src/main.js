// The dashboard: a header with the navigation, and one page per URL under /ui/.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import './style.css';
import { api, setPrivateReads, setToken } from './api.js';
import { BASE, Problem, html, installLinkHandler, isMirror, upstreamOf, useLocation, useToken } from './ui.js';
import { Overview } from './pages/overview.js';
import { Timeline } from './pages/timeline.js';
import { Resolve } from './pages/resolve.js';
import { Workers, Worker } from './pages/workers.js';
import { Eol } from './pages/eol.js';
import { Catalog } from './pages/catalog.js';
import { Events } from './pages/events.js';
import { Login } from './pages/login.js';

const NAV = [
  ['/', 'Overview'],
  ['/timeline', 'Timeline'],
  ['/resolve', 'Resolve'],
  ['/workers', 'Workers'],
  ['/eol', 'End of support'],
  ['/catalog', 'Catalog'],
  ['/events', 'Events'],
];

function route(path) {
  let p = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  if (p === '' || p === '/')
    return { page: Overview, title: 'Overview', nav: '/' };
  p = p.replace(/\/+$/, '');
  const m = p.match(/^\/workers\/(.+)$/);
  if (m)
    return { page: Worker, title: 'Worker', nav: '/workers', params: { name: decodeURIComponent(m[1]) } };
  const table = {
    '/timeline': Timeline, '/resolve': Resolve, '/workers': Workers, '/eol': Eol,
    '/catalog': Catalog, '/events': Events, '/login': Login,
  };
  if (table[p]) {
    const nav = NAV.find(([k]) => k === p);
    return { page: table[p], title: nav ? nav[1] : 'Log in', nav: p };
  }
  return { page: NotFound, title: 'Not found', nav: null };
}

function NotFound() {
  return html`<h1 tabindex="-1">Not found</h1><p>No page of the dashboard has this address. <a href="${BASE}/">Go to the overview</a>.</p>`;
}

function Header({ health, current }) {
  const token = useToken();
  return html`<header class="top">
    <a class="skip" href="#main">Skip to content</a>
    <div class="brand"><a href="${BASE}/">almanac</a></div>
    <nav aria-label="Pages">
      <ul>
        ${NAV.map(([p, label]) => html`<li><a href=${BASE + p} aria-current=${current === p ? 'page' : undefined}>${label}</a></li>`)}
      </ul>
    </nav>
    <div class="session">
      <span class="today" title="the server's today">today <time datetime=${health ? health.today : ''}>${health ? health.today : '—'}</time>${health && health.today_overridden ? ' (set)' : ''}</span>
      ${token
        ? html`<span class="who">token set</span> <button type="button" class="link" onClick=${() => setToken('')}>Log out</button>`
        : html`<a href="${BASE}/login" aria-current=${current === '/login' ? 'page' : undefined}>Log in</a>`}
    </div>
  </header>`;
}

function App() {
  const loc = useLocation();
  const [health, setHealth] = useState(null);
  const [healthError, setHealthError] = useState(null);
  const main = useRef(null);
  const first = useRef(true);
  const r = route(loc.path);

  useEffect(() => {
    api('/v1/health').then((h) => {
      setPrivateReads(h.private_reads);
      setHealth(h);
    }, setHealthError);
  }, []);
  useEffect(() => {
    document.title = `${r.title} · almanac`;
    // After a navigation, move focus to the new page's heading (screen readers
    // announce it); not on the first load.
    if (first.current) {
      first.current = false;
      return;
    }
    const h1 = main.current && main.current.querySelector('h1');
    if (h1)
      h1.focus();
    window.scrollTo(0, 0);
  }, [loc.path]);

  const Page = r.page;
  // Nothing is drawn before /v1/health answers (a few ms): the header then appears
  // whole, and nothing already on screen moves.
  if (!health && !healthError)
    return null;
  return html`
    <${Header} health=${health} current=${r.nav}/>
    ${health && isMirror(health) && html`<div class="banner" role="note">Mirror of <strong>${upstreamOf(health) || 'its upstream'}</strong>: read-only.</div>`}
    <main id="main" ref=${main}>
      ${healthError
        ? html`<h1 tabindex="-1">almanac</h1><${Problem} error=${healthError}/>`
        : health
          ? html`<${Page} health=${health} params=${r.params || {}} search=${loc.search} key=${loc.path}/>`
          : html`<p class="loading" role="status">Loading…</p>`}
    </main>`;
}

installLinkHandler();
render(html`<${App}/>`, document.getElementById('app'));
