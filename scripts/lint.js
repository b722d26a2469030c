#!/usr/bin/env node
// House-rule lint (../shared/STYLE.md) for what the type checker cannot see:
//  - only core/config.ts (and the bin entry) read process.env
//  - no `export *`: each index.ts names what it exports
//  - a top-level folder is imported from another folder only through its index.ts
// Tests and benchmarks may reach into internals.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const SOURCE_DIRS = ['core', 'cli', 'storage', 'protocols', 'ingest', 'query', 'collector', 'health', 'controllers', 'alerts'];
const ENV_ALLOWED = new Set(['core/config.ts']);
const problems = [];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.(ts|js)$/.test(name)) out.push(p);
  }
  return out;
}

for (const top of SOURCE_DIRS) {
  const dir = path.join(root, top);
  let files = [];
  try {
    files = walk(dir);
  } catch {
    continue;
  }
  for (const file of files) {
    const rel = path.relative(root, file);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const at = `${rel}:${i + 1}`;
      const code = line.replace(/\/\/.*$/, '');
      if (/\bprocess\.env\b/.test(code) && !ENV_ALLOWED.has(rel)) problems.push(`${at}: reads process.env; take it from the config (core/config.ts)`);
      if (/^\s*export\s+\*/.test(code)) problems.push(`${at}: export * — name each export`);
      const m = /\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/.exec(code) ?? /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/.exec(code);
      if (m) {
        const target = path.relative(root, path.resolve(path.dirname(file), m[1]));
        const targetTop = target.split(path.sep)[0];
        if (targetTop !== top && SOURCE_DIRS.includes(targetTop) && target !== path.join(targetTop, 'index.ts')) {
          problems.push(`${at}: imports ${target}; import another folder only through ${targetTop}/index.ts`);
        }
      }
    });
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} lint problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
