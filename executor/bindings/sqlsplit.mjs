// The end (exclusive) of the quoted text or comment that starts at sql[i], or -1 when
// none starts there. `quotes` lists the opening characters that quote: '"' quotes an
// identifier when splitting, but is the very thing rewriteDqs looks for.
const QUOTES = "'\"`[";
function opaqueEnd(sql, i, quotes) {
  const c = sql[i];
  const n = sql.length;
  if (quotes.includes(c)) {
    const close = c === "[" ? "]" : c;
    let j = i + 1;
    while (j < n) {
      if (sql[j] === close) {
        if (close !== "]" && sql[j + 1] === close) {
          j += 2;
          continue;
        }
        break;
      }
      j++;
    }
    return Math.min(j + 1, n);
  }
  if (c === "-" && sql[i + 1] === "-") {
    const j = sql.indexOf("\n", i);
    return j < 0 ? n : j;
  }
  if (c === "/" && sql[i + 1] === "*") {
    const e = sql.indexOf("*/", i + 2);
    return e < 0 ? n : e + 2;
  }
  return -1;
}

// Splits SQL text into statements for `d1 execute --file` and D1 `exec`: semicolons end
// a statement except inside quotes ('...', "...", `...`, [...]), comments (-- and /* */)
// and the BEGIN ... END body of CREATE TRIGGER. Empty statements are dropped.
export function splitSql(text) {
  const out = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  let words = []; // leading keywords of the current statement (to spot CREATE TRIGGER)
  let lastWord = "";
  let inTriggerBody = false;
  const push = (end) => {
    const s = text.slice(start, end).replace(/^(\s|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, "").trim();
    if (s !== "") out.push(s);
    start = end + 1;
    words = [];
    lastWord = "";
    inTriggerBody = false;
  };
  while (i < n) {
    const c = text[i];
    const e = opaqueEnd(text, i, QUOTES);
    if (e >= 0) {
      if (QUOTES.includes(c)) lastWord = "";
      i = e;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z0-9_$]/.test(text[j])) j++;
      const w = text.slice(i, j).toUpperCase();
      if (words.length < 4) words.push(w);
      const isTrigger =
        words[0] === "CREATE" &&
        (words[1] === "TRIGGER" || ((words[1] === "TEMP" || words[1] === "TEMPORARY") && words[2] === "TRIGGER"));
      if (isTrigger && w === "BEGIN") inTriggerBody = true;
      lastWord = w;
      i = j;
      continue;
    }
    if (c === ";") {
      if (!inTriggerBody || lastWord === "END") push(i);
      i++;
      continue;
    }
    if (!/\s/.test(c)) lastWord = "";
    i++;
  }
  push(n);
  return out;
}

// Rewrites numbered parameters (?1, ?2, as D1 accepts them) to anonymous ones, which is
// what better-sqlite3 binds positionally: returns {sql, order} where order[i] is the
// 1-based parameter index of the i-th "?" of sql; null when sql has no ?NNN.
export function numberedParams(sql) {
  if (!/\?\d/.test(sql)) return null;
  let out = "";
  const order = [];
  let max = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const e = opaqueEnd(sql, i, QUOTES);
    if (e >= 0) {
      out += sql.slice(i, e);
      i = e;
      continue;
    }
    if (c === "?") {
      let j = i + 1;
      while (j < n && sql[j] >= "0" && sql[j] <= "9") j++;
      const idx = j > i + 1 ? Number(sql.slice(i + 1, j)) : max + 1;
      if (idx > max) max = idx;
      order.push(idx);
      out += "?";
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return { sql: out, order, count: max };
}

// Double-quoted string literals ("text" where a string is meant) are accepted by the
// platform's SQLite, as by SQLite's default build (the DQS misfeature), and real schemas
// and seed files rely on it; better-sqlite3 is built with SQLITE_DQS=0. SQLite names
// the token it could not resolve ("no such column: "X" - should this be a string
// literal in single-quotes?"), so prepareCompat re-writes exactly that token as a
// single-quoted literal and prepares again, which is what a DQS build does.
export const DQS_MAX_REWRITES = 10000;
const DQS_ERROR = /^no such column: "([\s\S]*)" - should this be a string literal in single-quotes\?$/;

function rewriteDqs(sql, name) {
  let out = "";
  let i = 0;
  let hit = false;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const e = opaqueEnd(sql, i, "'`[");
    if (e >= 0) {
      out += sql.slice(i, e);
      i = e;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let v = "";
      while (j < n) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') {
            v += '"';
            j += 2;
            continue;
          }
          break;
        }
        v += sql[j++];
      }
      if (v === name) {
        out += "'" + v.replace(/'/g, "''") + "'";
        hit = true;
      } else out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    out += c;
    i++;
  }
  return hit ? out : null;
}

export function prepareCompat(db, sql) {
  for (let k = 0; ; k++) {
    try {
      return { stmt: db.prepare(sql), sql };
    } catch (e) {
      const m = k < DQS_MAX_REWRITES && e && typeof e.message === "string" ? DQS_ERROR.exec(e.message) : null;
      const next = m ? rewriteDqs(sql, m[1]) : null;
      if (next === null) throw e;
      sql = next;
    }
  }
}
