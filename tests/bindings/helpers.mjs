// Shared by the binding tests: a temporary state dir per test file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function tmpDir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `almanac-bindings-${tag}-`));
  process.on("exit", () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
