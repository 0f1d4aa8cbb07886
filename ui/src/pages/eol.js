// End of support: the plan for a policy date (GET /v1/eol/plan changes nothing),
// then an apply (POST /v1/eol/apply, admin) once the date is typed again to confirm.
import { useState } from 'preact/hooks';

import { api, ISO_DATE } from '../api.js';
import { DateField, Loading, LoginPrompt, MirrorNote, Problem, Section, Table, fmt, href, html, isMirror, navigate, queryParams, useData, useToken } from '../ui.js';

const SHOWN_MOVES = 200;
const FULL_AUTO = 2000;

export function Eol({ health, search }) {
  const q = queryParams(search);
  const asOf = q.as_of || '';
  const token = useToken();
  const [pick, setPick] = useState(asOf || health.today);
  const [confirm, setConfirm] = useState('');
  const [applied, setApplied] = useState(null);
  const [applyError, setApplyError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [wantFull, setWantFull] = useState(false);
  // The summary first (totals and groups); the per-worker lists with it only while
  // they are small, so a registry of 100,000 workers does not send them unasked.
  const plan = useData(async (signal) => {
    if (!asOf)
      return null;
    const q = encodeURIComponent(asOf);
    const summary = await api(`/v1/eol/plan?as_of=${q}&summary=true`, { signal });
    const t = summary.totals;
    if (!wantFull && t.moves + t.blocked + t.unblocked > FULL_AUTO)
      return summary;
    return api(`/v1/eol/plan?as_of=${q}`, { signal });
  }, [asOf, wantFull]);

  async function apply(e) {
    e.preventDefault();
    if (confirm !== asOf)
      return;
    setBusy(true);
    setApplyError(null);
    try {
      setApplied(await api(`/v1/eol/apply?as_of=${encodeURIComponent(asOf)}&summary=true`, { method: 'POST', auth: true }));
      setConfirm('');
    } catch (err) {
      setApplied(null);
      setApplyError(err);
    }
    setBusy(false);
  }

  const p = plan.data;
  return html`<h1 tabindex="-1">End of support</h1>
    <form class="inline" onSubmit=${(e) => { e.preventDefault(); if (ISO_DATE.test(pick)) { setApplied(null); setWantFull(false); navigate(href('/eol', { as_of: pick })); } }}>
      <${DateField} id="policy-date" label="Policy date" value=${pick} onInput=${setPick} required=${true}/>
      <div><button type="submit">Show plan</button></div>
    </form>
    <${Problem} error=${plan.error}/>
    ${!asOf && html`<p>Choose a date to see which workers the support policy moves on it. The plan changes nothing.</p>`}
    ${plan.loading && asOf && !p && html`<${Loading} what="the plan"/>`}
    ${p && html`
      <${Section} id="plan-totals" title=${`Plan for ${p.as_of}`}>
        <dl class="facts totals">
          <dt>Registered</dt><dd>${p.totals.registered}</dd><dt>Evaluated</dt><dd>${p.totals.evaluated}</dd>
          <dt>Moves</dt><dd>${p.totals.moves}</dd><dt>Blocked</dt><dd>${p.totals.blocked}</dd>
          <dt>Newly blocked</dt><dd>${p.totals.newly_blocked}</dd><dt>Unblocked</dt><dd>${p.totals.unblocked}</dd>
        </dl>
        <${Table} id="plan-groups" caption="Moves by line" cols=${[
          { label: 'From', render: (g) => `${g.from.python_line} (${g.from.runtime})` },
          { label: 'To', render: (g) => (g.to ? `${g.to.python_line} (${g.to.runtime})` : fmt(null)) },
          { label: 'Outcome', key: 'outcome' }, { label: 'Code', key: 'code' }, { label: 'Workers', key: 'workers', num: true },
        ]} rows=${p.groups} empty="Nothing moves on this date."/>
      <//>
      ${!p.moves && html`<p class="notice" role="note">This plan moves ${p.totals.moves} and blocks ${p.totals.blocked} workers.
        <button type="button" onClick=${() => setWantFull(true)} disabled=${plan.loading}>Load the per-worker lists</button></p>`}
      ${p.moves && html`<${Section} id="plan-blocked" title="Blocked workers">
        <${Table} id="plan-blocked-table" caption="Workers the policy cannot move, and why" cols=${[
          { label: 'Worker', render: (b) => html`<a href=${href(`/workers/${encodeURIComponent(b.worker)}`)}>${b.worker}</a>` },
          { label: 'From', render: (b) => `${b.from.python_line} (${b.from.runtime})` },
          { label: 'To', render: (b) => (b.to ? `${b.to.python_line} (${b.to.runtime})` : fmt(null)) },
          { label: 'Code', render: (b) => html`<code>${b.code}</code>` }, { label: 'Why', key: 'reason' },
          { label: 'Packages', key: 'packages' }, { label: 'Since', key: 'since' },
        ]} rows=${(p.blocked || []).map((b) => ({ ...b, key: b.worker }))} empty="No worker is blocked."/>
      <//>`}
      <${Section} id="apply" title="Apply">
        ${isMirror(health) ? html`<${MirrorNote} health=${health}/>` : !token ? html`<${LoginPrompt} what="Applying the plan"/>` : html`
          <form class="stack" onSubmit=${apply}>
            <p>Applying moves ${p.totals.moves} workers and marks ${p.totals.blocked} blocked, in one transaction; every move is a history entry and an event. Applying the same date again changes nothing.</p>
            <div class="field"><label for="confirm-date">Type the policy date <strong>${asOf}</strong> to confirm</label>
              <input id="confirm-date" autocomplete="off" inputmode="numeric" value=${confirm} onInput=${(e) => setConfirm(e.currentTarget.value)}/></div>
            <div><button type="submit" class="danger" disabled=${confirm !== asOf || busy}>Apply the plan for ${asOf}</button></div>
          </form>`}
        <div aria-live="polite">
          <${Problem} error=${applyError}/>
          ${applied && html`<div class="success" role="status"><p>Applied the plan for ${applied.as_of}: ${applied.applied.moved} moved,
            ${applied.applied.blocked} blocked, ${applied.applied.unblocked} unblocked, ${applied.applied.events} events
            ${applied.applied.first_seq !== null ? html`(seq ${applied.applied.first_seq}–${applied.applied.last_seq})` : ''}.</p></div>`}
        </div>
      <//>
      ${p.moves && html`<${Section} id="plan-moves" title="Moves">
        <${Table} id="plan-moves-table" caption=${(p.moves || []).length > SHOWN_MOVES ? `The first ${SHOWN_MOVES} of ${p.moves.length} moves` : 'Every move'} cols=${[
          { label: 'Worker', render: (m) => html`<a href=${href(`/workers/${encodeURIComponent(m.worker)}`)}>${m.worker}</a>` },
          { label: 'From', render: (m) => `${m.from.python_line} (${m.from.runtime})` },
          { label: 'To', render: (m) => `${m.to.python_line} (${m.to.runtime})` },
          { label: 'Package changes', render: (m) => (m.package_changes.length
            ? m.package_changes.map((c) => `${c.name} ${c.from || '∅'}→${c.to || '∅'}`).join(', ') : 'none') },
        ]} rows=${(p.moves || []).slice(0, SHOWN_MOVES).map((m) => ({ ...m, key: m.worker }))} empty="No moves."/>
      <//>`}`}`;
}
