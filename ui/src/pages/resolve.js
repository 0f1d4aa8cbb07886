// Resolve playground: a date, flags (completed from /v1/flags) and requirements
// resolved by POST /v1/resolve; the lock, the policy, the warnings and errors as the
// API gives them, a link to the lock's signature; and a diff between two dates.
import { useState } from 'preact/hooks';

import { api, apiUrl } from '../api.js';
import { DateField, Hash, Loading, Problem, Section, Status, Table, Warnings, bytes, fmt, href, html, navigate, queryParams, useData } from '../ui.js';

function splitFlags(s) {
  return (s || '').split(/[\s,]+/).filter(Boolean);
}

export function Resolve({ health, search }) {
  const q = queryParams(search);
  const flagsData = useData((signal) => api('/v1/flags', { signal }), []);
  const [date, setDate] = useState(q.date || '');
  const [flags, setFlags] = useState(splitFlags(q.flags));
  const [flagInput, setFlagInput] = useState('');
  const [reqs, setReqs] = useState((q.requirements || '').split(',').filter(Boolean).join('\n'));
  const [asOf, setAsOf] = useState(q.as_of || '');
  const [experimental, setExperimental] = useState(q.allow_experimental === 'true');
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [diffFrom, setDiffFrom] = useState(q.date || '');
  const [diffTo, setDiffTo] = useState(health.today);
  const [diff, setDiff] = useState(null);
  const [diffError, setDiffError] = useState(null);

  const reqLines = () => reqs.split('\n').map((l) => l.trim()).filter(Boolean);
  const addFlag = () => {
    const add = splitFlags(flagInput).filter((f) => !flags.includes(f));
    if (add.length)
      setFlags([...flags, ...add]);
    setFlagInput('');
  };

  async function resolve(e) {
    e.preventDefault();
    const pending = splitFlags(flagInput).filter((f) => !flags.includes(f));
    const allFlags = [...flags, ...pending];
    if (pending.length) {
      setFlags(allFlags);
      setFlagInput('');
    }
    const body = { compatibility_date: date, compatibility_flags: allFlags, requirements: reqLines() };
    if (asOf)
      body.as_of = asOf;
    if (experimental)
      body.allow_experimental = true;
    navigate(href('/resolve', { date, flags: allFlags.join(','), requirements: reqLines().join(','), as_of: asOf,
                                allow_experimental: experimental ? 'true' : '' }), { replace: true });
    setBusy(true);
    setError(null);
    try {
      setResult(await api('/v1/resolve', { method: 'POST', body }));
    } catch (err) {
      setResult(null);
      setError(err);
    }
    setBusy(false);
  }

  async function runDiff(e) {
    e.preventDefault();
    const p = new URLSearchParams({ from: diffFrom, to: diffTo });
    if (flags.length)
      p.set('flags', flags.join(','));
    if (reqLines().length)
      p.set('requirements', reqLines().join(','));
    setDiffError(null);
    try {
      setDiff(await api(`/v1/diff?${p}`));
    } catch (err) {
      setDiff(null);
      setDiffError(err);
    }
  }

  const names = flagsData.data ? flagsData.data.flags.filter((f) => f.state === 'published') : [];
  return html`<h1 tabindex="-1">Resolve playground</h1>
    <form class="stack" onSubmit=${resolve} aria-describedby="resolve-help">
      <p id="resolve-help" class="muted">Resolves like <code>POST /v1/resolve</code>: a compatibility date, flags and requirements give one lock.</p>
      <${DateField} id="date" label="Compatibility date" value=${date} onInput=${setDate} required=${true}/>
      <div class="field">
        <label for="flag-input">Compatibility flags</label>
        <div class="row">
          <input id="flag-input" list="flag-names" value=${flagInput} autocomplete="off"
            onInput=${(e) => setFlagInput(e.currentTarget.value)}
            onKeyDown=${(e) => { if (e.key === 'Enter' && flagInput.trim()) { e.preventDefault(); addFlag(); } }}/>
          <button type="button" onClick=${addFlag}>Add flag</button>
        </div>
        <datalist id="flag-names">${names.map((f) => html`<option value=${f.name}>${f.description}</option>`)}</datalist>
        <ul class="chips" aria-label="Flags to resolve with">
          ${flags.map((f) => html`<li><code>${f}</code> <button type="button" class="link" aria-label=${`Remove flag ${f}`}
            onClick=${() => setFlags(flags.filter((x) => x !== f))}>×</button></li>`)}
        </ul>
      </div>
      <div class="field">
        <label for="requirements">Requirements (requirements.txt lines)</label>
        <textarea id="requirements" rows="4" value=${reqs} onInput=${(e) => setReqs(e.currentTarget.value)}></textarea>
      </div>
      <${DateField} id="resolve-as-of" label="Policy as of (optional)" value=${asOf} onInput=${setAsOf}/>
      <div class="field check"><input id="experimental" type="checkbox" checked=${experimental}
        onChange=${(e) => setExperimental(e.currentTarget.checked)}/><label for="experimental">Allow experimental flags</label></div>
      <div><button type="submit" disabled=${busy}>Resolve</button></div>
    </form>
    <div aria-live="polite">
      ${busy && html`<${Loading} what="the lock"/>`}
      ${error && html`<${Section} id="resolve-errors" title="Errors"><${Problem} error=${error}/><//>`}
      ${result && lockView(result)}
    </div>
    <${Section} id="diff" title="Diff between two dates">
      <form class="inline" onSubmit=${runDiff}>
        <${DateField} id="diff-from" label="From" value=${diffFrom} onInput=${setDiffFrom} required=${true}/>
        <${DateField} id="diff-to" label="To" value=${diffTo} onInput=${setDiffTo} required=${true}/>
        <div><button type="submit">Compare</button></div>
      </form>
      <p class="muted">Uses the flags and requirements above.</p>
      <div aria-live="polite">
        <${Problem} error=${diffError}/>
        ${diff && diffView(diff)}
      </div>
    <//>`;
}

function lockView(res) {
  const { lock, policy } = res;
  const rt = lock.runtime;
  return html`
    <${Section} id="lock" title="Lock">
      <dl class="facts">
        <dt>Lock id</dt><dd><${Hash} value=${res.lock_id}/></dd>
        <dt>Signature</dt><dd><a href=${apiUrl(`/v1/locks/${encodeURIComponent(res.lock_id)}/signature`)}>minisign signature of this lock</a>${' · '}<a href=${apiUrl(`/v1/locks/${encodeURIComponent(res.lock_id)}`)}>lock bytes</a></dd>
        <dt>Runtime</dt><dd>${rt ? `${rt.id} (Python ${rt.python}, Pyodide ${rt.pyodide}, Emscripten ${rt.emscripten}, ABI ${rt.abi})` : fmt(null)}</dd>
        <dt>Package set</dt><dd>${fmt(lock.package_set)}</dd>
        <dt>Bundle flag</dt><dd>${fmt(lock.bundle_flag)}</dd>
        <dt>Enabled flags</dt><dd>${fmt(lock.enabled_flags)}</dd>
        ${lock.upgraded_from && html`<dt>Upgraded from</dt><dd>${lock.upgraded_from.runtime
          ? `${lock.upgraded_from.runtime} (Python ${lock.upgraded_from.python_line}, ${lock.upgraded_from.package_set}, ${lock.upgraded_from.bundle_flag})` : fmt(lock.upgraded_from)}</dd>`}
      </dl>
    <//>
    <${Section} id="policy" title="Policy">
      ${policy ? html`<dl class="facts">
        <dt>Python line</dt><dd>${fmt(policy.python_line)}</dd>
        <dt>Status on ${policy.as_of}</dt><dd><${Status} value=${policy.status}/></dd>
        <dt>End of support</dt><dd>${fmt(policy.end_of_support)}</dd>
        ${policy.upgrade && html`<dt>Upgrade</dt><dd>${policy.upgrade.from.runtime} (${policy.upgrade.from.python_line}) → ${policy.upgrade.to.runtime} (${policy.upgrade.to.python_line}): ${policy.upgrade.reason}</dd>`}
        ${policy.upgrade_blocked && html`<dt>Upgrade blocked</dt><dd>${fmt(policy.upgrade_blocked)}</dd>`}
      </dl>` : html`<p class="muted">No policy (no Python runtime).</p>`}
    <//>
    <${Section} id="warnings" title="Warnings"><${Warnings} warnings=${res.warnings}/><//>
    <${Section} id="artifacts" title="Artifacts">
      <${Table} caption="Core artifacts of the runtime" cols=${[
        { label: 'Role', key: 'role' }, { label: 'File', key: 'file_name' },
        { label: 'SHA-256', render: (a) => html`<${Hash} value=${a.sha256}/>` },
        { label: 'Size', num: true, render: (a) => bytes(a.size) },
      ]} rows=${(lock.artifacts || []).map((a) => ({ ...a, key: a.sha256 }))}/>
    <//>
    <${Section} id="packages" title="Packages (closure)">
      <${Table} caption=${`${(lock.packages || []).length} packages, in dependency order`} cols=${[
        { label: 'Name', key: 'name' }, { label: 'Version', key: 'version' }, { label: 'File', key: 'file_name' },
        { label: 'SHA-256', render: (p) => html`<${Hash} value=${p.sha256}/>` },
        { label: 'Size', num: true, render: (p) => bytes(p.size) }, { label: 'Depends', key: 'depends' },
      ]} rows=${(lock.packages || []).map((p) => ({ ...p, key: p.name }))}/>
    <//>`;
}

function change(c) {
  if (!c)
    return fmt(null);
  return c.changed ? html`${fmt(c.from)} → ${fmt(c.to)}` : html`${fmt(c.from)} (unchanged)`;
}

function diffView(d) {
  const pk = d.packages || { added: [], removed: [], changed: [] };
  return html`<div class="diff">
    <dl class="facts">
      <dt>Runtime</dt><dd>${d.runtime ? change({ changed: d.runtime.changed, from: d.runtime.from, to: d.runtime.to }) : fmt(null)}</dd>
      <dt>Python</dt><dd>${change(d.python)}</dd>
      <dt>Python line</dt><dd>${change(d.python_line)}</dd>
      <dt>Package set</dt><dd>${change(d.package_set)}</dd>
      <dt>Flags turning on</dt><dd>${fmt(d.flags.turned_on)}</dd>
      <dt>Flags turning off</dt><dd>${fmt(d.flags.turned_off)}</dd>
    </dl>
    <${Table} caption=${`Package changes (${d.packages_scope || 'all'})`} cols=${[
      { label: 'Change', key: 'change' }, { label: 'Package', key: 'name' }, { label: 'From', key: 'from' }, { label: 'To', key: 'to' },
    ]} rows=${[
      ...pk.added.map((p) => ({ change: 'added', name: p.name || p, from: null, to: p.version || null })),
      ...pk.removed.map((p) => ({ change: 'removed', name: p.name || p, from: p.version || null, to: null })),
      ...pk.changed.map((p) => ({ change: 'changed', name: p.name, from: p.from, to: p.to })),
    ]} empty="No package changes."/>
  </div>`;
}
