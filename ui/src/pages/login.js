// Log in: the token is kept in sessionStorage (this tab only) and sent as a bearer
// token; it never goes into a URL.
import { useState } from 'preact/hooks';

import { setToken } from '../api.js';
import { BASE, html, navigate, queryParams, useToken } from '../ui.js';

export function Login({ search }) {
  const token = useToken();
  const [value, setValue] = useState('');
  const next = queryParams(search).next || '';
  const safeNext = next.startsWith(`${BASE}/`) && !next.startsWith('//') ? next : `${BASE}/`;

  function submit(e) {
    e.preventDefault();
    const t = value.trim();
    if (!t)
      return;
    setToken(t);
    setValue('');
    navigate(safeNext);
  }

  return html`<h1 tabindex="-1">Log in</h1>
    <p>Paste an admin token (<code>almanacd token create --data DIR</code> prints one). It is kept in this
      tab's session storage and sent as <code>Authorization: Bearer …</code> with the requests that need it.</p>
    ${token && html`<p role="status">A token is set for this tab. <button type="button" class="link" onClick=${() => setToken('')}>Log out</button></p>`}
    <form class="stack" onSubmit=${submit}>
      <div class="field"><label for="token">Admin token</label>
        <input id="token" type="password" autocomplete="off" spellcheck="false" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} required/></div>
      <div><button type="submit">Log in</button></div>
    </form>`;
}
