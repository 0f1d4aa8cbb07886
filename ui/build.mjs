// Build the dashboard: node build.mjs OUTDIR
// Bundles src/main.js (and its CSS) with esbuild into OUTDIR/assets/ under names
// that carry a hash of their content (served with immutable caching), writes
// OUTDIR/index.html pointing at them, the favicons, and a gzip -9 sibling (.gz) of
// every file for almanacd to send to clients that accept gzip.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import * as esbuild from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '../build/ui'));
const TMP = `${OUT}.tmp`;

// A 16x16 32-bit ICO of the same mark as favicon.svg, for clients that ask for
// /favicon.ico: blue square, white "A".
function favicon() {
  const S = 16, px = Buffer.alloc(S * S * 4), mask = Buffer.alloc(S * 4);
  const A = ['................', '................', '.......##.......', '......####......', '......#..#......',
             '.....##..##.....', '.....#....#.....', '....##....##....', '....########....', '...##......##...',
             '...#........#...', '..##........##..', '..#..........#..', '................', '................',
             '................'];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const o = ((S - 1 - y) * S + x) * 4; // bottom-up rows
      const white = A[y][x] === '#';
      px[o] = white ? 255 : 0x89; px[o + 1] = white ? 255 : 0x4e; px[o + 2] = white ? 255 : 0x1d; px[o + 3] = 255;
    }
  const bih = Buffer.alloc(40);
  bih.writeUInt32LE(40, 0); bih.writeInt32LE(S, 4); bih.writeInt32LE(S * 2, 8); bih.writeUInt16LE(1, 12);
  bih.writeUInt16LE(32, 14); bih.writeUInt32LE(px.length + mask.length, 20);
  const img = Buffer.concat([bih, px, mask]);
  const hdr = Buffer.alloc(6 + 16);
  hdr.writeUInt16LE(0, 0); hdr.writeUInt16LE(1, 2); hdr.writeUInt16LE(1, 4);
  hdr[6] = S; hdr[7] = S; hdr[8] = 0; hdr[9] = 0; hdr.writeUInt16LE(1, 10); hdr.writeUInt16LE(32, 12);
  hdr.writeUInt32LE(img.length, 14); hdr.writeUInt32LE(22, 18);
  return Buffer.concat([hdr, img]);
}

fs.rmSync(TMP, { recursive: true, force: true });
fs.mkdirSync(path.join(TMP, 'assets'), { recursive: true });
const result = await esbuild.build({
  entryPoints: [path.join(HERE, 'src/main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: path.join(TMP, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((f) => path.relative(TMP, path.resolve(f)));
const js = outputs.filter((f) => f.endsWith('.js'));
const css = outputs.filter((f) => f.endsWith('.css'));
const tags = [...css.map((f) => `<link rel="stylesheet" href="/ui/${f}">`),
              ...js.map((f) => `<script type="module" src="/ui/${f}"></script>`)].join('\n');
const index = fs.readFileSync(path.join(HERE, 'src/index.html'), 'utf8').replace('<!--ASSETS-->', tags);
fs.writeFileSync(path.join(TMP, 'index.html'), index);
fs.copyFileSync(path.join(HERE, 'src/favicon.svg'), path.join(TMP, 'favicon.svg'));
fs.writeFileSync(path.join(TMP, 'favicon.ico'), favicon());

let total = 0;
for (const dir of ['', 'assets'])
  for (const name of fs.readdirSync(path.join(TMP, dir))) {
    const file = path.join(TMP, dir, name);
    if (!fs.statSync(file).isFile())
      continue;
    const gz = zlib.gzipSync(fs.readFileSync(file), { level: 9 });
    fs.writeFileSync(`${file}.gz`, gz);
    total += gz.length;
  }
fs.rmSync(OUT, { recursive: true, force: true });
fs.renameSync(TMP, OUT);
console.log(`ui: built ${OUT} (${outputs.length} assets, ${total} bytes gzip -9 in all)`);
