// Node 20's `node --test DIR` only discovers *.test.mjs (and similar) names; the suite
// itself lives in run.mjs.
import "./run.mjs";
