// The log pipeline evaluated in TypeScript: what ClickHouse could not do
// (parsers, label filters on extracted labels, formatting) runs here over
// the rows that survived the pushed-down filters. Each stage follows the
// Loki documentation (https://grafana.com/docs/loki/latest/query/log_queries/)
// and Loki's behaviour where the documentation is silent: label categories
// (stream, structured metadata, parsed) and their precedence, the
// `_extracted` suffix, first-extracted-wins, __error__/__error_details__.
import type { LabelFilterExpr, LabelMatcher, Stage, CmpOp } from './ast.ts';
import { compileRegex, regexLiteral } from './regex.ts';
import { parseTemplate, TemplateError, type Template } from './template.ts';
import { parsePatternExpr, patternMatches, patternTest } from './pattern.ts';
import { extractJsonPaths, JsonError, parseJsonPath, unescapeJsonString, unpackJson, walkJsonObject } from './json.ts';
import { parseGoDurationNs, goDurationError, parseHumanBytes, parseGoFloat } from './units.ts';
import { ipFilter, parseIpRange } from './ip.ts';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';
export const PRESERVE_ERROR_LABEL = '__preserve_error__';

export const ERR_JSON = 'JSONParserErr';
export const ERR_LOGFMT = 'LogfmtParserErr';
export const ERR_SAMPLE = 'SampleExtractionErr';
export const ERR_LABEL_FILTER = 'LabelFilterErr';
export const ERR_TEMPLATE = 'TemplateFormatErr';

/** A stream's labels, name-sorted, with a lookup map and a stable key. */
export interface StreamLabels {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly map: ReadonlyMap<string, string>;
  /** `{a="b", c="d"}` (Prometheus text form, sorted) */
  readonly key: string;
}

export function makeStreamLabels(names: readonly string[], values: readonly string[]): StreamLabels {
  const idx = names.map((_, i) => i).sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : (names[a] as string) > (names[b] as string) ? 1 : 0));
  const n = idx.map((i) => names[i] as string);
  const v = idx.map((i) => values[i] as string);
  const map = new Map<string, string>();
  n.forEach((x, i) => map.set(x, v[i] as string));
  return { names: n, values: v, map, key: labelsKey(n, v) };
}

/** Prometheus' labels.String(): {a="b", c="d"} with Go-quoted values. */
export function labelsKey(names: readonly string[], values: readonly string[]): string {
  let s = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ', ';
    s += names[i] + '=' + JSON.stringify(values[i]);
  }
  return s + '}';
}

export type Category = 'stream' | 'structuredMetadata' | 'parsed';

/** The labels of one entry as it moves through the pipeline. */
export class LabelsBuilder {
  base!: StreamLabels;
  sm = new Map<string, string>();
  parsed = new Map<string, string>();
  del = new Set<string>();
  /** names a parser set on this line: later parsers leave them alone */
  extracted = new Set<string>();
  err = '';
  errDetails = '';

  reset(base: StreamLabels, metadata: readonly [string, string][] | undefined): void {
    this.base = base;
    if (this.sm.size) this.sm.clear();
    if (this.parsed.size) this.parsed.clear();
    if (this.del.size) this.del.clear();
    if (this.extracted.size) this.extracted.clear();
    this.err = '';
    this.errDetails = '';
    if (metadata) for (const [k, v] of metadata) this.setMetadata(k, v);
  }

  get(name: string): string | undefined {
    const p = this.parsed.get(name);
    if (p !== undefined) return p;
    const m = this.sm.get(name);
    if (m !== undefined) return m;
    if (this.del.size && this.del.has(name)) return undefined;
    return this.base.map.get(name);
  }

  /** what label filters compare: __error__ reads the error, a missing label reads "" */
  value(name: string): string {
    if (name === ERROR_LABEL) return this.err;
    if (name === ERROR_DETAILS_LABEL) return this.errDetails;
    return this.get(name) ?? '';
  }

  baseHas(name: string): boolean {
    return this.base.map.has(name);
  }

  /** a parser's key collides with a stream label or structured metadata -> `_extracted` */
  collides(name: string): boolean {
    return this.base.map.has(name) || this.sm.has(name);
  }

  setParsed(name: string, value: string): void {
    this.sm.delete(name);
    this.parsed.set(name, value);
    this.extracted.add(name);
  }

  setMetadata(name: string, value: string): void {
    if (this.parsed.has(name)) return;
    this.sm.set(name, value);
  }

  delete(name: string): void {
    this.parsed.delete(name);
    this.sm.delete(name);
    this.del.add(name);
    if (name === ERROR_LABEL) this.err = '';
    if (name === ERROR_DETAILS_LABEL) this.errDetails = '';
  }

  setError(err: string, details?: string): void {
    this.err = err;
    if (details) this.errDetails = details;
  }

  /** labels by category; stream labels shadowed by metadata or parsed ones move out */
  categorized(): { stream: [string, string][]; structuredMetadata: [string, string][]; parsed: [string, string][] } {
    const stream: [string, string][] = [];
    const b = this.base;
    for (let i = 0; i < b.names.length; i++) {
      const n = b.names[i] as string;
      if (this.del.has(n) || this.sm.has(n) || this.parsed.has(n)) continue;
      stream.push([n, b.values[i] as string]);
    }
    const structuredMetadata: [string, string][] = [];
    for (const [k, v] of this.sm) if (!this.parsed.has(k)) structuredMetadata.push([k, v]);
    const parsed: [string, string][] = [...this.parsed];
    if (this.err) parsed.push([ERROR_LABEL, this.err]);
    if (this.errDetails) parsed.push([ERROR_DETAILS_LABEL, this.errDetails]);
    structuredMetadata.sort(byName);
    parsed.sort(byName);
    return { stream, structuredMetadata, parsed };
  }

  /** true when the entry still has exactly its stream labels */
  unchanged(): boolean {
    return this.sm.size === 0 && this.parsed.size === 0 && this.del.size === 0 && !this.err && !this.errDetails;
  }

  /** all labels, sorted by name */
  all(): [string, string][] {
    if (this.unchanged()) return this.base.names.map((n, i) => [n, this.base.values[i] as string]);
    const c = this.categorized();
    return [...c.stream, ...c.structuredMetadata, ...c.parsed].sort(byName);
  }

  /** the labels as a map (for templates) */
  toRecord(): Record<string, string> {
    const r: Record<string, string> = {};
    for (const [k, v] of this.all()) r[k] = v;
    return r;
  }
}

function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Loki's sanitizeLabelKey: trimmed, non [A-Za-z0-9_] to `_`, a leading digit prefixed. */
export function sanitizeLabelKey(key: string, isPrefix: boolean): string {
  let k = key.trim();
  if (k === '') return k;
  if (isPrefix && k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) k = '_' + k;
  return k.replace(/[^A-Za-z0-9_]/g, '_');
}

/** The entry moving through stages. */
export interface Entry {
  line: string;
  readonly tsNs: bigint;
  readonly lb: LabelsBuilder;
}

type StageFn = (e: Entry) => boolean;

// ---------- line filters ----------

export function compileLineFilter(op: string, values: readonly string[], ip: boolean): (line: string) => boolean {
  const positive = op === '|=' || op === '|~' || op === '|>';
  let tests: ((l: string) => boolean)[];
  if (ip) {
    tests = values.map((v) => {
      const r = parseIpRange(v);
      return r ? (l: string) => ipFilter(r, l) : () => false;
    });
  } else if (op === '|=' || op === '!=') {
    tests = values.map((v) => (v === '' ? () => true : (l: string) => l.includes(v)));
  } else if (op === '|~' || op === '!~') {
    tests = values.map((v) => {
      const lit = regexLiteral(v);
      if (lit && !lit.caseInsensitive) return (l: string) => l.includes(lit.literal);
      const { re } = compileRegex(v, { dotAll: true });
      return (l: string) => re.test(l);
    });
  } else {
    tests = values.map((v) => {
      const p = parsePatternExpr(v, 'filter');
      return (l: string) => patternTest(p, l);
    });
  }
  if (tests.length === 1) {
    const t = tests[0] as (l: string) => boolean;
    return positive ? t : (l) => !t(l);
  }
  // positive: any matches; negative: none matches (`!= "a" or "b"` == `!= "a" != "b"`)
  return positive ? (l) => tests.some((t) => t(l)) : (l) => !tests.some((t) => t(l));
}

// ---------- label filters ----------

function compileMatcher(m: LabelMatcher): (v: string) => boolean {
  switch (m.op) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const { re } = compileRegex(m.value, { anchored: true });
      return (v) => re.test(v);
    }
    case '!~': {
      const { re } = compileRegex(m.value, { anchored: true });
      return (v) => !re.test(v);
    }
  }
}

export function matcherFn(m: LabelMatcher): (v: string) => boolean {
  return compileMatcher(m);
}

function cmp(op: CmpOp, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

type LabelTest = (lb: LabelsBuilder) => boolean;

export function compileLabelFilter(f: LabelFilterExpr): LabelTest {
  switch (f.kind) {
    case 'and': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (lb) => {
        const a = l(lb);
        const b = r(lb); // Loki evaluates both sides of an and (errors from either are kept)
        return a && b;
      };
    }
    case 'or': {
      const l = compileLabelFilter(f.left);
      const r = compileLabelFilter(f.right);
      return (lb) => l(lb) || r(lb);
    }
    case 'string': {
      const t = compileMatcher(f.matcher);
      const name = f.matcher.name;
      return (lb) => t(lb.value(name));
    }
    case 'number':
      return (lb) => {
        const v = lb.get(f.name);
        if (v === undefined) return false;
        const n = parseGoFloat(v);
        if (n === undefined) {
          if (!lb.err) lb.setError(ERR_LABEL_FILTER, `strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
          return true;
        }
        return cmp(f.op, n, f.value);
      };
    case 'duration':
      return (lb) => {
        const v = lb.get(f.name);
        if (v === undefined) return false;
        const ns = parseGoDurationNs(v);
        if (ns === undefined) {
          if (!lb.err) lb.setError(ERR_LABEL_FILTER, goDurationError(v));
          return true;
        }
        return cmp(f.op, ns, f.valueNs);
      };
    case 'bytes':
      return (lb) => {
        const v = lb.get(f.name);
        if (v === undefined) return false;
        const b = parseHumanBytes(v);
        if (!b.ok) {
          if (!lb.err) lb.setError(ERR_LABEL_FILTER, b.error);
          return true;
        }
        return cmp(f.op, b.value, f.value);
      };
    case 'ip': {
      const r = parseIpRange(f.pattern);
      return (lb) => {
        if (lb.err) return true;
        const v = lb.get(f.name);
        if (v === undefined || !r) return false;
        const m = ipFilter(r, v);
        return f.op === '=' ? m : !m;
      };
    }
  }
}

/** Label names a label filter reads (for planning). */
export function labelFilterNames(f: LabelFilterExpr): string[] {
  switch (f.kind) {
    case 'and':
    case 'or':
      return [...labelFilterNames(f.left), ...labelFilterNames(f.right)];
    case 'string':
      return [f.matcher.name];
    default:
      return [f.name];
  }
}

// ---------- logfmt ----------

interface LogfmtPair {
  key: string;
  /** undefined for a standalone key */
  value: string | undefined;
}

/**
 * Scans logfmt key=value pairs like Loki's decoder (go-logfmt): a bad pair
 * is skipped, and in strict mode stops the scan with an error.
 */
export function scanLogfmt(line: string, strict: boolean, onPair: (p: LogfmtPair) => boolean | void): string | undefined {
  let pos = 0;
  const n = line.length;
  let err: string | undefined;
  const fail = (msg: string, at: number): void => {
    if (err === undefined) err = `logfmt syntax error at pos ${at + 1} : ${msg}`;
  };
  const skipValue = (): void => {
    while (pos < n && line.charCodeAt(pos) > 32) pos++;
  };
  while (pos < n) {
    // garbage before a key
    while (pos < n && line.charCodeAt(pos) <= 32) pos++;
    if (pos >= n) break;
    const start = pos;
    let key: string | undefined;
    let value: string | undefined;
    let ok = true;
    for (;;) {
      if (pos >= n) {
        key = line.slice(start, pos);
        break;
      }
      const c = line.charCodeAt(pos);
      if (c === 61 /* = */) {
        if (pos === start) {
          fail("unexpected '='", pos);
          skipValue();
          ok = false;
          break;
        }
        key = line.slice(start, pos);
        pos++;
        if (pos >= n || line.charCodeAt(pos) <= 32) break;
        if (line.charCodeAt(pos) === 34 /* " */) {
          // quoted value
          let p = pos + 1;
          let hasEsc = false;
          let closed = false;
          for (; p < n; p++) {
            const d = line.charCodeAt(p);
            if (d === 92) {
              hasEsc = true;
              p++;
            } else if (d === 34) {
              closed = true;
              break;
            }
          }
          if (!closed) {
            pos = n;
            fail('unterminated quoted value', pos - 1);
            ok = false;
            break;
          }
          const raw = line.slice(pos + 1, p);
          pos = p + 1;
          if (hasEsc) {
            const u = unescapeJsonString(raw);
            if (u === undefined) {
              fail('invalid quoted value', pos - 1);
              ok = false;
              break;
            }
            value = u;
          } else value = raw;
          break;
        }
        const vs = pos;
        for (;;) {
          if (pos >= n) break;
          const d = line.charCodeAt(pos);
          if (d === 61 || d === 34) {
            fail(`unexpected '${String.fromCharCode(d)}'`, pos);
            skipValue();
            ok = false;
            break;
          }
          if (d <= 32) break;
          pos++;
        }
        if (ok) value = line.slice(vs, pos);
        break;
      }
      if (c === 34) {
        fail(`unexpected '"'`, pos);
        skipValue();
        ok = false;
        break;
      }
      if (c <= 32) {
        key = line.slice(start, pos);
        break;
      }
      pos++;
    }
    if (!ok) {
      if (strict) return err;
      continue;
    }
    if (key !== undefined && key !== '') {
      if (onPair({ key, value }) === false) return err;
    }
  }
  return strict ? err : undefined;
}

// ---------- stages ----------

const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))/g;

function templateError(lb: LabelsBuilder, e: unknown): void {
  if (e instanceof TemplateError) lb.setError(ERR_TEMPLATE, e.message);
  else throw e;
}

function runTemplate(t: Template, e: Entry): string | undefined {
  try {
    return t.execute(t.simpleField !== undefined ? { [t.simpleField]: e.lb.get(t.simpleField) ?? '' } : e.lb.toRecord(), { line: e.line, timestampNs: e.tsNs });
  } catch (err) {
    templateError(e.lb, err);
    return undefined;
  }
}

function compileStage(s: Stage): StageFn {
  switch (s.kind) {
    case 'line_filter': {
      const f = compileLineFilter(s.op, s.values, s.ip);
      return (e) => f(e.line);
    }
    case 'label_filter': {
      const t = compileLabelFilter(s.expr);
      return (e) => t(e.lb);
    }
    case 'decolorize':
      return (e) => {
        e.line = e.line.replace(ANSI, '');
        return true;
      };
    case 'line_format': {
      const t = parseTemplate(s.template);
      return (e) => {
        const out = runTemplate(t, e);
        if (out !== undefined) e.line = out;
        return true;
      };
    }
    case 'label_format': {
      const items = s.items.map((it) => (it.rename ? it : { ...it, tpl: parseTemplate(it.template) }));
      return (e) => {
        // templates all see the labels as they were when the stage started (Loki builds the map once)
        let snapshot: Record<string, string> | undefined;
        for (const it of items) {
          if (it.rename) {
            const v = e.lb.get(it.src);
            if (v !== undefined) {
              // as Loki: set dst, then delete src (so `a=a` removes a)
              e.lb.setParsed(it.dst, v);
              e.lb.delete(it.src);
            }
            continue;
          }
          snapshot ??= e.lb.toRecord();
          try {
            e.lb.setParsed(it.dst, (it as { tpl: Template }).tpl.execute(snapshot, { line: e.line, timestampNs: e.tsNs }));
          } catch (err) {
            templateError(e.lb, err);
          }
        }
        return true;
      };
    }
    case 'drop':
    case 'keep': {
      const items = s.items.map((it) => ({ name: it.name, test: it.matcher ? compileMatcher(it.matcher) : undefined }));
      if (s.kind === 'drop') {
        return (e) => {
          for (const it of items) {
            if (it.name === ERROR_LABEL || it.name === ERROR_DETAILS_LABEL) {
              const v = it.name === ERROR_LABEL ? e.lb.err : e.lb.errDetails;
              if (!it.test || it.test(v)) e.lb.delete(it.name);
              continue;
            }
            const v = e.lb.get(it.name);
            if (v === undefined) continue;
            if (!it.test || it.test(v)) e.lb.delete(it.name);
          }
          return true;
        };
      }
      return (e) => {
        // keep: drop everything not listed (or listed with a matcher that fails); errors stay
        for (const [name, value] of e.lb.all()) {
          if (name === ERROR_LABEL || name === ERROR_DETAILS_LABEL) continue;
          const its = items.filter((it) => it.name === name);
          const kept = its.some((it) => !it.test || it.test(value));
          if (!kept) e.lb.delete(name);
        }
        return true;
      };
    }
    case 'json': {
      if (s.params.length === 0) return compileJson();
      const ids = s.params.map((p) => p.label);
      const paths = s.params.map((p) => parseJsonPath(p.expr));
      return (e) => {
        const line = e.line;
        const c = line.charCodeAt(0);
        if (line.length === 0) return true;
        if (c !== 34 && c !== 123 && c !== 91) {
          e.lb.setError(ERR_JSON);
          return true;
        }
        let vals: (string | undefined)[];
        try {
          vals = extractJsonPaths(line, paths);
        } catch (err) {
          if (!(err instanceof JsonError)) throw err;
          e.lb.setError(ERR_JSON, err.message);
          vals = paths.map(() => undefined);
        }
        ids.forEach((id, i) => {
          const v = vals[i];
          const key = e.lb.collides(id) ? id + '_extracted' : id;
          if (v !== undefined) e.lb.setParsed(key, v);
          else if (e.lb.get(id) === undefined) e.lb.setParsed(id, '');
        });
        return true;
      };
    }
    case 'logfmt':
      return s.params.length === 0 ? compileLogfmt(s.strict, s.keepEmpty) : compileLogfmtParams(s.strict, s.params);
    case 'regexp': {
      const { re, groupNames } = compileRegex(s.pattern);
      const names = groupNames.map((n) => (n ? sanitizeLabelKey(n, true) : ''));
      return (e) => {
        const m = re.exec(e.line);
        if (!m) return true;
        for (let i = 0; i < names.length; i++) {
          const n = names[i] as string;
          if (!n) continue;
          const key = e.lb.collides(n) ? n + '_extracted' : n;
          if (e.lb.extracted.has(key)) continue;
          e.lb.setParsed(key, m[i + 1] ?? '');
        }
        return true;
      };
    }
    case 'pattern': {
      const p = parsePatternExpr(s.pattern, 'parser');
      return (e) => {
        const vals = patternMatches(p, e.line);
        for (let i = 0; i < vals.length; i++) {
          const n = p.names[i] as string;
          const key = e.lb.collides(n) ? n + '_extracted' : n;
          if (e.lb.extracted.has(key)) continue;
          e.lb.setParsed(key, vals[i] as string);
        }
        return true;
      };
    }
    case 'unpack':
      return (e) => {
        const line = e.line;
        if (line.length === 0) return true;
        if (line.charCodeAt(0) !== 123) {
          e.lb.setError(ERR_JSON, 'expecting json object(6), but it is not');
          return true;
        }
        try {
          const { labels, entry } = unpackJson(line);
          if (entry !== undefined) {
            for (const [k, v] of labels) {
              const key = e.lb.collides(k) ? k + '_extracted' : k;
              if (e.lb.extracted.has(key)) continue;
              e.lb.setParsed(sanitizeLabelKey(key, true), v);
            }
            e.line = entry;
          }
        } catch (err) {
          if (!(err instanceof JsonError)) throw err;
          e.lb.setError(ERR_JSON, err.message);
        }
        return true;
      };
  }
}

function compileJson(): StageFn {
  return (e) => {
    const lb = e.lb;
    try {
      walkJsonObject(e.line, (path, value) => {
        // nested keys joined with `_`, each part sanitized; a collision with a
        // stream label or metadata gets `_extracted`; the first value wins
        let key = '';
        for (const part of path) {
          const t = part.trim();
          if (t === '') continue;
          const san = (key === '' ? sanitizeLabelKey(t, true) : sanitizeLabelKey(t, false));
          key = key === '' ? san : key + '_' + san;
        }
        if (key === '') return;
        if (lb.collides(key)) key += '_extracted';
        if (lb.extracted.has(key)) return;
        lb.setParsed(key, value);
      });
    } catch (err) {
      if (!(err instanceof JsonError)) throw err;
      lb.setError(ERR_JSON, err.message);
    }
    return true;
  };
}

function compileLogfmt(strict: boolean, keepEmpty: boolean): StageFn {
  const keyCache = new Map<string, string>();
  return (e) => {
    const lb = e.lb;
    const err = scanLogfmt(e.line, strict, ({ key: rawKey, value }) => {
      let key = keyCache.get(rawKey);
      if (key === undefined) {
        key = sanitizeLabelKey(rawKey, true);
        if (keyCache.size < 1024) keyCache.set(rawKey, key);
      }
      if (key === '') return;
      if (lb.collides(key)) key += '_extracted';
      if (lb.extracted.has(key)) return;
      const v = value === undefined ? '' : value.includes('\uFFFD') ? value.replace(/\uFFFD/g, ' ') : value;
      if (!keepEmpty && v === '') return;
      lb.setParsed(key, v);
    });
    if (strict && err) lb.setError(ERR_LOGFMT, err);
    return true;
  };
}

function compileLogfmtParams(strict: boolean, params: readonly { label: string; expr: string }[]): StageFn {
  // identifier -> logfmt key it reads
  const byKey = new Map<string, string>();
  for (const p of params) byKey.set(p.expr, p.label);
  const ids = new Set(params.map((p) => p.label));
  return (e) => {
    const lb = e.lb;
    for (const id of ids) if (!lb.collides(id)) lb.setParsed(id, '');
    const err = scanLogfmt(e.line, strict, ({ key: rawKey, value }) => {
      const key = sanitizeLabelKey(rawKey, true);
      if (key === '') return;
      let id = byKey.get(key);
      if (id === undefined && ids.has(key)) id = key;
      if (id === undefined) return;
      const v = value === undefined || value.includes('\uFFFD') ? '' : value;
      if (lb.collides(id)) {
        const dup = id + '_extracted';
        if (lb.extracted.has(dup)) return false;
        lb.setParsed(dup, v);
        return;
      }
      lb.setParsed(id, v);
    });
    if (strict && err) lb.setError(ERR_LOGFMT, err);
    return true;
  };
}

/** A compiled pipeline: process() returns false when the entry is dropped. */
export interface Pipeline {
  readonly stages: readonly Stage[];
  process(e: Entry): boolean;
}

export function compilePipeline(stages: readonly Stage[]): Pipeline {
  const fns = stages.map(compileStage);
  return {
    stages,
    process(e) {
      for (let i = 0; i < fns.length; i++) if (!(fns[i] as StageFn)(e)) return false;
      return true;
    },
  };
}
