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
    const s = text.slice(start, end).trim();
    if (s !== "" && !/^(--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s)) out.push(s);
    start = end + 1;
    words = [];
    lastWord = "";
    inTriggerBody = false;
  };
  while (i < n) {
    const c = text[i];
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      i++;
      while (i < n) {
        if (text[i] === close) {
          if (close !== "]" && text[i + 1] === close) {
            i += 2;
            continue;
          }
          break;
        }
        i++;
      }
      i++;
      lastWord = "";
      continue;
    }
    if (c === "-" && text[i + 1] === "-") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const e = text.indexOf("*/", i + 2);
      i = e < 0 ? n : e + 2;
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
