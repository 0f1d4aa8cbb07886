// Timeline: Python lines from first release to end of support, runtime releases
// and flag enable dates on one horizontal axis, with today and "as of" marked. The
// SVG is drawn by hand; the same facts are in the tables under it.
import { api, dayNumber, supportStatus } from '../api.js';
import { DateField, Loading, Problem, Section, Status, Table, href, html, navigate, queryParams, useData } from '../ui.js';

const W = 1000, LABEL = 92, ROW = 26, PAD = 8;

export function Timeline({ health, search }) {
  const q = queryParams(search);
  const asOf = q.as_of || health.today;
  const { data, error, loading } = useData((signal) => Promise.all([
    api('/v1/python', { signal }), api('/v1/runtimes', { signal }), api('/v1/flags', { signal }),
  ]), []);
  return html`<h1 tabindex="-1">Timeline</h1>
    <form class="inline" onSubmit=${(e) => e.preventDefault()}>
      <${DateField} id="as-of" label="As of" value=${asOf}
        onInput=${(v) => v && navigate(href('/timeline', { as_of: v === health.today ? '' : v }), { replace: true })}/>
      <p class="muted">As of <strong>${asOf}</strong>; today is ${health.today}.</p>
    </form>
    ${error && html`<${Problem} error=${error}/>`}
    ${loading && !data ? html`<${Loading} what="the timeline"/>` : data && chart(data, asOf, health.today)}`;
}

function chart([py, rt, fl], asOf, today) {
  const lines = py.lines;
  const runtimes = rt.runtimes.filter((r) => r.release_date);
  const flags = fl.flags.filter((f) => f.enable_date).sort((a, b) => a.enable_date.localeCompare(b.enable_date));
  const dates = [...lines.flatMap((l) => [l.first_release, l.end_of_support]), ...runtimes.map((r) => r.release_date),
                 ...flags.map((f) => f.enable_date), asOf, today];
  const y0 = Number(dates.reduce((a, b) => (a < b ? a : b)).slice(0, 4));
  const y1 = Number(dates.reduce((a, b) => (a > b ? a : b)).slice(0, 4)) + 1;
  const d0 = dayNumber(`${y0}-01-01`), d1 = dayNumber(`${y1}-01-01`);
  const x = (iso) => LABEL + ((dayNumber(iso) - d0) / (d1 - d0)) * (W - LABEL - PAD);
  const rows = lines.length + 2;
  const H = 24 + rows * ROW + 8;
  const years = [];
  for (let y = y0; y < y1; y++)
    years.push(y);
  const yRuntimes = 24 + lines.length * ROW, yFlags = yRuntimes + ROW;

  return html`
    <figure class="timeline">
      <svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="tl-title tl-desc" preserveAspectRatio="xMinYMin meet">
        <title id="tl-title">Timeline of Python lines, runtime releases and flag dates</title>
        <desc id="tl-desc">${lines.length} Python lines from ${lines[0] && lines[0].first_release} to ${lines.length && lines[lines.length - 1].end_of_support}; ${runtimes.length} runtime releases; ${flags.length} flag enable dates; today ${today}; as of ${asOf}. The tables below hold the same data.</desc>
        ${years.map((y) => html`<g class="year">
          <line x1=${x(`${y}-01-01`)} x2=${x(`${y}-01-01`)} y1="18" y2=${H - 4}/>
          <text x=${x(`${y}-01-01`) + 2} y="12">${y}</text></g>`)}
        ${lines.map((l, i) => {
          const st = supportStatus(l.end_of_support, asOf);
          const y = 24 + i * ROW;
          return html`<g class=${`line line-${st}`}>
            <text class="label" x="4" y=${y + 15}>Python ${l.line}</text>
            <rect x=${x(l.first_release)} y=${y + 4} width=${Math.max(2, x(l.end_of_support) - x(l.first_release))} height=${ROW - 8} rx="3">
              <title>Python ${l.line}: ${l.first_release} to ${l.end_of_support} (${st} on ${asOf})</title></rect>
          </g>`;
        })}
        <text class="label" x="4" y=${yRuntimes + 15}>Runtimes</text>
        ${runtimes.map((r) => html`<g class="runtime"><path d=${`M${x(r.release_date)} ${yRuntimes + 5} l6 8 l-6 8 l-6 -8z`}>
          <title>${r.id} (Python ${r.python}) released ${r.release_date}</title></path></g>`)}
        <text class="label" x="4" y=${yFlags + 15}>Flags</text>
        ${flags.map((f) => html`<g class="flag"><line x1=${x(f.enable_date)} x2=${x(f.enable_date)} y1=${yFlags + 4} y2=${yFlags + ROW - 4}>
          <title>${f.name} enabled from ${f.enable_date}</title></line></g>`)}
        <g class="today"><line x1=${x(today)} x2=${x(today)} y1="18" y2=${H - 4}/><text x=${x(today) + 3} y=${H - 6}>today</text></g>
        ${asOf !== today && html`<g class="asof"><line x1=${x(asOf)} x2=${x(asOf)} y1="18" y2=${H - 4}/><text x=${x(asOf) + 3} y="30">as of</text></g>`}
      </svg>
      <figcaption>Bars: each Python line from its first release to its end of support (colour: status as of ${asOf}). Diamonds: runtime releases. Ticks: flag enable dates. Dashed: today (${today}); solid: as of (${asOf}).</figcaption>
    </figure>
    <${Section} id="tl-lines" title="Python lines">
      <${Table} caption=${`Python lines, status as of ${asOf}`} cols=${[
        { label: 'Line', key: 'line' }, { label: 'First release', key: 'first_release' },
        { label: 'End of support', key: 'end_of_support' },
        { label: 'Status', render: (l) => html`<${Status} value=${supportStatus(l.end_of_support, asOf)}/>` },
      ]} rows=${lines.map((l) => ({ ...l, key: l.line }))}/>
    <//>
    <${Section} id="tl-runtimes" title="Runtime releases">
      <${Table} caption="Runtime releases" cols=${[
        { label: 'Runtime', key: 'id' }, { label: 'Python', key: 'python' }, { label: 'Release date', key: 'release_date' },
        { label: 'State', key: 'state' },
      ]} rows=${runtimes.map((r) => ({ ...r, key: r.id }))}/>
    <//>
    <${Section} id="tl-flags" title="Flag enable dates">
      <${Table} caption="Flags with an enable date" cols=${[
        { label: 'Flag', render: (f) => html`<code>${f.name}</code>` }, { label: 'Enable date', key: 'enable_date' },
        { label: `On ${asOf}`, render: (f) => (f.enable_date <= asOf ? 'on' : 'not yet') },
        { label: 'State', key: 'state' },
      ]} rows=${flags.map((f) => ({ ...f, key: f.name }))}/>
    <//>`;
}
