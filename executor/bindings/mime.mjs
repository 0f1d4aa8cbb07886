// Content types of static assets by extension (the common web types; anything else is
// application/octet-stream). Text types carry charset=utf-8 as the platform sends them.
const TYPES = {
  html: "text/html", htm: "text/html", css: "text/css", js: "text/javascript", mjs: "text/javascript",
  cjs: "text/javascript", json: "application/json", map: "application/json", jsonld: "application/ld+json",
  webmanifest: "application/manifest+json", xml: "application/xml", txt: "text/plain", md: "text/markdown",
  csv: "text/csv", tsv: "text/tab-separated-values", ics: "text/calendar", vtt: "text/vtt", yaml: "text/yaml", yml: "text/yaml",
  svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif",
  webp: "image/webp", avif: "image/avif", ico: "image/x-icon", bmp: "image/bmp", tif: "image/tiff", tiff: "image/tiff",
  woff: "font/woff", woff2: "font/woff2", ttf: "font/ttf", otf: "font/otf", eot: "application/vnd.ms-fontobject",
  mp3: "audio/mpeg", wav: "audio/wav", ogg: "audio/ogg", oga: "audio/ogg", m4a: "audio/mp4", flac: "audio/flac",
  mp4: "video/mp4", webm: "video/webm", ogv: "video/ogg", mov: "video/quicktime",
  pdf: "application/pdf", zip: "application/zip", gz: "application/gzip", tar: "application/x-tar",
  wasm: "application/wasm", py: "text/x-python", sh: "application/x-sh", rss: "application/rss+xml",
  atom: "application/atom+xml", txtx: "text/plain",
};
const TEXTUAL = /^(text\/|application\/(json|javascript|xml|ld\+json|manifest\+json|rss\+xml|atom\+xml)|image\/svg\+xml)/;

export function contentType(file) {
  const m = /\.([^./]+)$/.exec(file);
  const t = (m && TYPES[m[1].toLowerCase()]) || "application/octet-stream";
  return TEXTUAL.test(t) ? `${t}; charset=utf-8` : t;
}
