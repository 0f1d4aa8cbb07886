// Catalog admin: drafts and published objects; a draft flag or package set made
// here (PUT, admin), and publishing with a confirmation that says what becomes
// immutable.
import { useEffect, useRef, useState } from 'preact/hooks';

import { api } from '../api.js';
import { DateField, Loading, LoginPrompt, MirrorNote, Problem, Section, Status, Table, fmt, html, isMirror, useData, useToken } from '../ui.js';

const IMMUTABLE = {
  flag: (o) => `Publishing flag ${o.name} makes it immutable: its enable date (${o.enable_date || 'none'}), disable flag, implications, experimental mark and bundle can never change again; only its description can. Resolutions of dates before its enable date do not change.`,
  runtime: (o) => `Publishing runtime ${o.id} makes it immutable: its versions (Python ${o.python}, Pyodide ${o.pyodide}, Emscripten ${o.emscripten}, ABI ${o.abi}), release date and core artifacts can never change again; only its notes and the deprecated mark can.`,
  'package-set': (o) => `Publishing package set ${o.id} makes it immutable: its ${o.package_count} packages, their versions, files and digests can never change again; only its notes and the deprecated mark can.`,
};
const PUBLISH_PATH = {
  flag: (o) => `/v1/flags/${encodeURIComponent(o.name)}/publish`,
  runtime: (o) => `/v1/runtimes/${encodeURIComponent(o.id)}/publish`,
  'package-set': (o) => `/v1/package-sets/${o.id.split('/').map(encodeURIComponent).join('/')}/publish`,
};

export function Catalog({ health }) {
  const token = useToken();
  const [gen, setGen] = useState(0);
  const { data, error, loading } = useData((signal) => Promise.all([
    api('/v1/flags', { signal }), api('/v1/runtimes', { signal }), api('/v1/package-sets', { signal }),
  ]), [gen]);
  const [confirm, setConfirm] = useState(null); // {kind, obj}
  const [message, setMessage] = useState(null);
  const [actionError, setActionError] = useState(null);
  const mirror = isMirror(health);
  const canWrite = !mirror && !!token;
  const reload = () => setGen(gen + 1);

  async function publish() {
    const { kind, obj } = confirm;
    setConfirm(null);
    setActionError(null);
    try {
      await api(PUBLISH_PATH[kind](obj), { method: 'POST', auth: true });
      setMessage(`Published ${kind} ${obj.name || obj.id}.`);
      reload();
    } catch (e) {
      setMessage(null);
      setActionError(e);
    }
  }

  const publishButton = (kind) => (o) => (o.state === 'draft' && canWrite
    ? html`<button type="button" onClick=${() => setConfirm({ kind, obj: o })}>Publish…</button>` : fmt(null));

  return html`<h1 tabindex="-1">Catalog</h1>
    ${mirror ? html`<${MirrorNote} health=${health}/>` : !token && html`<${LoginPrompt} what="Creating drafts and publishing"/>`}
    <div aria-live="polite">
      ${message && html`<div class="success" role="status"><p>${message}</p></div>`}
      <${Problem} error=${actionError}/>
    </div>
    <${Problem} error=${error}/>
    ${loading && !data ? html`<${Loading} what="the catalog"/>` : data && html`
      ${['flag', 'runtime', 'package-set'].map((kind) => {
        const list = kind === 'flag' ? data[0].flags : kind === 'runtime' ? data[1].runtimes : data[2].package_sets;
        const title = kind === 'flag' ? 'Flags' : kind === 'runtime' ? 'Runtimes' : 'Package sets';
        const drafts = list.filter((o) => o.state === 'draft');
        const cols = kind === 'flag' ? [
          { label: 'Name', render: (f) => html`<code>${f.name}</code>` }, { label: 'Enable date', key: 'enable_date' },
          { label: 'Disable flag', key: 'disable_flag' }, { label: 'Experimental', key: 'experimental' },
          { label: 'Bundle', render: (f) => (f.bundle ? `${f.bundle.runtime} #${f.bundle.order}` : fmt(null)) },
          { label: 'Description', key: 'description' }, { label: 'State', render: (f) => html`<${Status} value=${f.state}/>` },
        ] : kind === 'runtime' ? [
          { label: 'Runtime', key: 'id' }, { label: 'Python', key: 'python' }, { label: 'Release date', key: 'release_date' },
          { label: 'Artifacts', num: true, render: (r) => r.artifacts.length }, { label: 'State', render: (r) => html`<${Status} value=${r.state}/>` },
        ] : [
          { label: 'Package set', key: 'id' }, { label: 'Date', key: 'date' }, { label: 'Packages', key: 'package_count', num: true },
          { label: 'State', render: (s) => html`<${Status} value=${s.state}/>` },
        ];
        return html`<${Section} id=${`cat-${kind}`} title=${title}>
          <${Table} id=${`drafts-${kind}`} caption=${`Draft ${title.toLowerCase()}`} empty="No drafts."
            cols=${[...cols, { label: 'Action', render: publishButton(kind) }]} rows=${drafts.map((o) => ({ ...o, key: o.name || o.id }))}/>
          <details><summary>Published ${title.toLowerCase()} (${list.length - drafts.length})</summary>
            <${Table} caption=${`Published ${title.toLowerCase()}`} cols=${cols}
              rows=${list.filter((o) => o.state !== 'draft').map((o) => ({ ...o, key: o.name || o.id }))}/>
          </details>
        <//>`;
      })}
      ${canWrite && html`<${NewFlag} onDone=${(m) => { setMessage(m); reload(); }}/>
        <${NewPackageSet} runtimes=${data[1].runtimes} onDone=${(m) => { setMessage(m); reload(); }}/>`}`}
    <${Confirm} open=${!!confirm} text=${confirm ? IMMUTABLE[confirm.kind](confirm.obj) : ''}
      title=${confirm ? `Publish ${confirm.kind} ${confirm.obj.name || confirm.obj.id}?` : ''}
      onCancel=${() => setConfirm(null)} onConfirm=${publish}/>`;
}

// A modal <dialog>: focus moves into it, Escape cancels, focus returns after.
function Confirm({ open, title, text, onCancel, onConfirm }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (!d)
      return;
    if (open && !d.open)
      d.showModal();
    else if (!open && d.open)
      d.close();
  }, [open]);
  return html`<dialog ref=${ref} aria-labelledby="confirm-title" aria-describedby="confirm-text" onCancel=${(e) => { e.preventDefault(); onCancel(); }}>
    <h2 id="confirm-title">${title}</h2>
    <p id="confirm-text">${text}</p>
    <div class="row"><button type="button" class="danger" onClick=${onConfirm}>Publish</button>
      <button type="button" onClick=${onCancel} autofocus>Cancel</button></div>
  </dialog>`;
}

function NewFlag({ onDone }) {
  const [f, setF] = useState({ name: '', description: '', enable_date: '', disable_flag: '', experimental: false });
  const [error, setError] = useState(null);
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  async function submit(e) {
    e.preventDefault();
    setError(null);
    const body = { description: f.description, experimental: f.experimental, enable_date: f.enable_date || null,
                   disable_flag: f.disable_flag || null };
    try {
      await api(`/v1/flags/${encodeURIComponent(f.name)}`, { method: 'PUT', auth: true, body });
      onDone(`Saved draft flag ${f.name}.`);
      setF({ name: '', description: '', enable_date: '', disable_flag: '', experimental: false });
    } catch (err) {
      setError(err);
    }
  }
  return html`<${Section} id="new-flag" title="New draft flag">
    <form class="stack" onSubmit=${submit}>
      <div class="field"><label for="nf-name">Name</label><input id="nf-name" required pattern="[a-z][a-z0-9_]*" value=${f.name} onInput=${set('name')} aria-describedby="nf-name-hint"/>
        <small id="nf-name-hint" class="muted">lower case letters, digits and _</small></div>
      <div class="field"><label for="nf-desc">Description</label><input id="nf-desc" value=${f.description} onInput=${set('description')}/></div>
      <${DateField} id="nf-date" label="Enable date" value=${f.enable_date} onInput=${(v) => setF({ ...f, enable_date: v })} hint="must be after today to publish"/>
      <div class="field"><label for="nf-disable">Disable flag</label><input id="nf-disable" value=${f.disable_flag} onInput=${set('disable_flag')}/></div>
      <div class="field check"><input id="nf-exp" type="checkbox" checked=${f.experimental} onChange=${set('experimental')}/><label for="nf-exp">Experimental</label></div>
      <div><button type="submit">Save draft flag</button></div>
      <${Problem} error=${error}/>
    </form>
  <//>`;
}

function NewPackageSet({ runtimes, onDone }) {
  const [runtime, setRuntime] = useState(runtimes.length ? runtimes[0].id : '');
  const [date, setDate] = useState('');
  const [lock, setLock] = useState('');
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    try {
      await api(`/v1/package-sets/${encodeURIComponent(runtime)}/${encodeURIComponent(date)}`, { method: 'PUT', auth: true, body: lock });
      onDone(`Saved draft package set ${runtime}/${date}.`);
      setLock('');
    } catch (err) {
      setError(err);
    }
  }
  return html`<${Section} id="new-set" title="New draft package set">
    <form class="stack" onSubmit=${submit}>
      <div class="field"><label for="ns-runtime">Runtime</label>
        <select id="ns-runtime" value=${runtime} onChange=${(e) => setRuntime(e.currentTarget.value)}>${runtimes.map((r) => html`<option value=${r.id}>${r.id}</option>`)}</select></div>
      <${DateField} id="ns-date" label="Date" value=${date} onInput=${setDate} required=${true}/>
      <div class="field"><label for="ns-lock">pyodide-lock.json</label><textarea id="ns-lock" rows="6" required value=${lock} onInput=${(e) => setLock(e.currentTarget.value)}></textarea></div>
      <div><button type="submit">Save draft package set</button></div>
      <${Problem} error=${error}/>
    </form>
  <//>`;
}
