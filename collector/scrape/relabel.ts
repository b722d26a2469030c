// Prometheus relabeling (relabel_configs, metric_relabel_configs) with the
// semantics of Prometheus's model/relabel: source label values joined by the
// separator, a regex anchored at both ends, `$1` / `${name}` expansion as Go's
// Regexp.Expand does it, hashmod over the last 8 bytes of an MD5 sum, and an
// empty result deleting the label.
// https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config
import { createHash } from 'node:crypto';
import { FleetwatchError } from '../../core/index.ts';

export type RelabelAction = 'replace' | 'keep' | 'drop' | 'keepequal' | 'dropequal' | 'hashmod' | 'labelmap' | 'labeldrop' | 'labelkeep' | 'lowercase' | 'uppercase';

const ACTIONS: readonly RelabelAction[] = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'];

export interface RelabelRule {
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly targetLabel: string;
  /** anchored: ^(?:regex)$ */
  readonly regex: RegExp;
  readonly regexSource: string;
  readonly modulus: number;
  readonly replacement: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** what a target_label template may look like (Prometheus's relabelTarget) */
const TARGET_TEMPLATE = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/**
 * Go RE2 syntax into a JavaScript RegExp. The two agree on what relabel
 * rules use (classes, groups, alternation, quantifiers); named groups and a
 * leading (?i)/(?s) flag group need translating.
 */
export function compileGoRegex(source: string, anchored = true): RegExp {
  let s = source;
  let flags = '';
  const lead = /^\(\?([is]+)\)/.exec(s);
  if (lead) {
    flags = [...new Set(lead[1])].join('');
    s = s.slice(lead[0].length);
  }
  s = s.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$').replace(/\\A/g, '^');
  return new RegExp(anchored ? `^(?:${s})$` : s, flags);
}

function fail(where: string, msg: string): never {
  throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `${where}: ${msg}`);
}

/** Validates and compiles a list of relabel_config objects (as Prometheus checks them). */
export function compileRelabelConfigs(raw: unknown, where: string): RelabelRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail(where, 'expected a list of relabel configs');
  return raw.map((item: unknown, i: number) => {
    const w = `${where}[${i}]`;
    if (!item || typeof item !== 'object') fail(w, 'expected a mapping');
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['source_labels', 'separator', 'target_label', 'regex', 'modulus', 'replacement', 'action'].includes(k)) fail(w, `unknown field ${k}`);
    const action = String(o['action'] ?? 'replace').toLowerCase() as RelabelAction;
    if (!ACTIONS.includes(action)) fail(w, `unknown relabel action ${JSON.stringify(o['action'])}; allowed: ${ACTIONS.join(', ')}`);
    const sourceLabels = o['source_labels'] === undefined ? [] : Array.isArray(o['source_labels']) ? o['source_labels'].map(String) : fail(w, 'source_labels must be a list');
    for (const l of sourceLabels) if (!LABEL_NAME.test(l)) fail(w, `${JSON.stringify(l)} is not a valid label name`);
    const regexSource = o['regex'] === undefined ? '(.*)' : String(o['regex']);
    let regex: RegExp;
    try {
      regex = compileGoRegex(regexSource);
    } catch (e) {
      fail(w, `invalid regex ${JSON.stringify(regexSource)}: ${(e as Error).message}`);
    }
    const rule: RelabelRule = {
      action,
      sourceLabels,
      separator: o['separator'] === undefined ? ';' : String(o['separator']),
      targetLabel: o['target_label'] === undefined ? '' : String(o['target_label']),
      regex,
      regexSource,
      modulus: o['modulus'] === undefined ? 0 : Number(o['modulus']),
      replacement: o['replacement'] === undefined ? '$1' : String(o['replacement']),
    };
    if ((action === 'replace' || action === 'hashmod' || action === 'lowercase' || action === 'uppercase' || action === 'keepequal' || action === 'dropequal') && rule.targetLabel === '') {
      fail(w, `relabel configuration for ${action} action requires 'target_label' value`);
    }
    if (action === 'replace' && !TARGET_TEMPLATE.test(rule.targetLabel)) fail(w, `${JSON.stringify(rule.targetLabel)} is invalid 'target_label' for replace action`);
    if ((action === 'hashmod' || action === 'lowercase' || action === 'uppercase' || action === 'keepequal' || action === 'dropequal') && !LABEL_NAME.test(rule.targetLabel)) {
      fail(w, `${JSON.stringify(rule.targetLabel)} is invalid 'target_label' for ${action} action`);
    }
    if (action === 'hashmod' && !(Number.isInteger(rule.modulus) && rule.modulus > 0)) fail(w, 'relabel configuration for hashmod requires non-zero modulus');
    if (action === 'labelmap' && !TARGET_TEMPLATE.test(rule.replacement)) fail(w, `${JSON.stringify(rule.replacement)} is invalid 'replacement' for labelmap action`);
    if ((action === 'labeldrop' || action === 'labelkeep') && (o['source_labels'] !== undefined || o['target_label'] !== undefined || o['modulus'] !== undefined || o['separator'] !== undefined || o['replacement'] !== undefined)) {
      fail(w, `${action} action requires only 'regex', and no other fields`);
    }
    return rule;
  });
}

/**
 * Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`; `$$` is a dollar.
 * A name is the longest run of letters, digits and underscores, so `$1x`
 * means the group named "1x" (empty), as in Go.
 */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  if (!template.includes('$')) return template;
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    i++;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let j: number;
    if (template[i] === '{') {
      j = template.indexOf('}', i + 1);
      name = j < 0 ? '' : template.slice(i + 1, j);
      if (j < 0 || !/^\w+$/.test(name)) {
        out += '$';
        continue;
      }
      j++;
    } else {
      const mm = /^\w+/.exec(template.slice(i));
      if (!mm) {
        out += '$';
        continue;
      }
      name = mm[0];
      j = i + name.length;
    }
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      if (n < m.length) out += m[n] ?? '';
    } else out += m.groups?.[name] ?? '';
    i = j;
  }
  return out;
}

/** The hashmod value Prometheus computes: last 8 bytes of md5(value), big-endian, mod modulus. */
export function hashMod(value: string, modulus: number): string {
  const sum = createHash('md5').update(value).digest();
  return (sum.readBigUInt64BE(8) % BigInt(modulus)).toString();
}

/** Applies rules in order to a label map (mutated); false when a rule drops it. */
export function relabel(labels: Map<string, string>, rules: readonly RelabelRule[]): boolean {
  for (const r of rules) {
    const val = r.sourceLabels.map((n) => labels.get(n) ?? '').join(r.separator);
    switch (r.action) {
      case 'drop':
        if (r.regex.test(val)) return false;
        break;
      case 'keep':
        if (!r.regex.test(val)) return false;
        break;
      case 'dropequal':
        if ((labels.get(r.targetLabel) ?? '') === val) return false;
        break;
      case 'keepequal':
        if ((labels.get(r.targetLabel) ?? '') !== val) return false;
        break;
      case 'replace': {
        const m = r.regex.exec(val);
        if (!m) break;
        const target = expandTemplate(r.targetLabel, m);
        if (!LABEL_NAME.test(target)) break;
        const res = expandTemplate(r.replacement, m);
        if (res === '') labels.delete(target);
        else labels.set(target, res);
        break;
      }
      case 'lowercase':
        set(labels, r.targetLabel, val.toLowerCase());
        break;
      case 'uppercase':
        set(labels, r.targetLabel, val.toUpperCase());
        break;
      case 'hashmod':
        labels.set(r.targetLabel, hashMod(val, r.modulus));
        break;
      case 'labelmap':
        for (const [name, value] of [...labels]) {
          const m = r.regex.exec(name);
          if (m) set(labels, expandTemplate(r.replacement, m), value);
        }
        break;
      case 'labeldrop':
        for (const name of [...labels.keys()]) if (r.regex.test(name)) labels.delete(name);
        break;
      case 'labelkeep':
        for (const name of [...labels.keys()]) if (!r.regex.test(name)) labels.delete(name);
        break;
    }
  }
  return true;
}

/** Prometheus's labels.Builder.Set: an empty value deletes. */
function set(labels: Map<string, string>, name: string, value: string): void {
  if (value === '') labels.delete(name);
  else labels.set(name, value);
}
