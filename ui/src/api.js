// The REST client: every request of the dashboard goes through api(), which sends
// the bearer token only when asked (writes), and turns any non-2xx answer into an
// ApiError carrying the RFC 9457 problem document as the API gave it.
const META = typeof document !== 'undefined' && document.querySelector('meta[name="almanac-api"]');
// Same origin by default; a page served elsewhere names the API's origin here
// (the API must then list that origin with --cors-origin).
export const API_BASE = ((META && META.content) || '').replace(/\/+$/, '');
const TOKEN_KEY = 'almanac.token';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  if (token)
    sessionStorage.setItem(TOKEN_KEY, token);
  else
    sessionStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event('almanac:token'));
}

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

export function apiUrl(path) {
  return API_BASE + path;
}

// Under --private-reads (GET /v1/health says so) reads carry the token too;
// otherwise only writes do, so public reads stay simple requests.
let privateReads = false;
export function setPrivateReads(on) {
  privateReads = !!on;
}

export async function api(path, { method = 'GET', body, auth = false, signal, raw = false } = {}) {
  const headers = {};
  if (body !== undefined)
    headers['Content-Type'] = 'application/json';
  if (!auth && privateReads && getToken())
    headers.Authorization = `Bearer ${getToken()}`;
  if (auth) {
    const t = getToken();
    if (!t)
      throw new ApiError({ title: 'Not logged in', detail: 'This action needs an admin token: log in first.', errors: [] }, 0);
    headers.Authorization = `Bearer ${t}`;
  }
  let res;
  try {
    res = await fetch(apiUrl(path), {
      method, headers, signal, cache: 'no-store',
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
  } catch (e) {
    if (e.name === 'AbortError')
      throw e;
    throw new ApiError({ title: 'Network error', detail: `${method} ${path}: ${e.message}`, errors: [] }, 0);
  }
  const ct = res.headers.get('content-type') || '';
  let data = null;
  if (res.status !== 204 && method !== 'HEAD')
    data = ct.includes('json') && !raw ? await res.json() : await res.text();
  if (!res.ok) {
    const problem = data && typeof data === 'object'
      ? data : { title: res.statusText || `HTTP ${res.status}`, status: res.status, detail: String(data || ''), errors: [] };
    throw new ApiError(problem, res.status);
  }
  return data;
}

// Dates are ISO strings (YYYY-MM-DD) everywhere; these work on them as UTC days.
export function dayNumber(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return Date.UTC(y, m - 1, d) / 86400000;
}

export function isoOfDay(n) {
  return new Date(n * 86400000).toISOString().slice(0, 10);
}

export const WARNING_DAYS = 180;

// The support status of a line ending on eos, as of asOf (the server's rule).
export function supportStatus(eos, asOf) {
  if (!eos)
    return 'unknown';
  const e = dayNumber(eos), a = dayNumber(asOf);
  if (a >= e)
    return 'ended';
  if (a >= e - WARNING_DAYS)
    return 'ending';
  return 'supported';
}

export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
