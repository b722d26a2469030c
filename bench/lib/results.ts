// bench/RESULTS.md holds one section per benchmark between markers; a run
// replaces its own section and leaves the others alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const FILE = path.resolve(import.meta.dirname, '../RESULTS.md');
const HEADER = '# Benchmark results\n\nEach section is written by its benchmark (`npm run bench:<name>`); fleetwatch and its peers run one after another in the same run on the same data, so compare the ratios (this machine is shared and noisy; absolute figures drift).\n';

export function writeSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  let text = existsSync(FILE) ? readFileSync(FILE, 'utf8') : HEADER;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(FILE, text);
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`;
}
