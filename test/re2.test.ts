// The RE2 → JavaScript translation shared by PromQL and LogQL (query/re2.ts):
// the behaviour where the two former translators differed, each case
// checked against Go's regexp/syntax (what Prometheus and Loki run).
import { describe, expect, it } from 'vitest';
import { compileRe2, expandTemplate, RegexSyntaxError } from '../query/re2.ts';
import { compileAnchored, expandTemplate as promqlExpand } from '../query/promql/regex.ts';
import { compileRegex, RegexSyntaxError as LogqlRegexSyntaxError } from '../query/logql/regex.ts';

describe('one translator behind both engines', () => {
  it('both engines throw the same error class with Go texts', () => {
    expect(LogqlRegexSyntaxError).toBe(RegexSyntaxError);
    expect(() => compileRegex('a(b')).toThrow('error parsing regexp: missing closing ): `a(b`');
    expect(() => compileAnchored('a(b')).toThrow('error parsing regexp: missing closing ): `a(b`');
  });
});

// [pattern, input, want] — unanchored search, "." not matching \n
const matches: Array<[string, string, boolean]> = [
  ['^\\Qab\\E*$', 'a', true], // a repetition after \Q..\E applies to its last character
  ['^\\Qab\\E*$', 'abbb', true],
  ['^\\Qab\\E*$', 'abab', false],
  ['^a\\Q\\E*$', 'aaa', true], // an empty \Q\E leaves the previous atom
  ['^*a', 'a', true], // RE2 repeats an empty-width assertion; JS would reject it
  ['x\\b+', 'x y', true],
  ['\\P{Any}', 'abc', false], // matches nothing
  ['[^\\P{Any}]', 'a', true],
  ['\\x{0000041}', 'A', true], // leading zeros in \x{...}
  ['^[\\D]+$', 'ab', true], // negated Perl classes inside a class
  ['^[\\D]+$', 'a1', false],
  ['^[\\W]+$', '-+', true],
  ['^[\\W]+$', '-a', false],
  ['(?i)k', '\u212a', true], // whole-pattern (?i) through the JS i flag keeps RE2's folds
  ['(?i)\u212a', 'K', true],
  ['(?i)\u017f', 'S', true],
  ['a(?i)\u212a', 'aK', true], // (?i) expanded into classes: the whole orbit
  ['a(?i)\u017f', 'as', true],
  ['(?i)a(?-i)b', 'AB', false],
  ['(?i)a(?-i)b', 'Ab', true],
  ['(?P<x>a)(?P<x>b)', 'ab', true], // Go allows a repeated group name
  ['(?P<1st>a)', 'a', true], // digit-led names are valid in RE2
  ['(?m)^b$', 'a\nb\nc', true],
  ['^b$', 'a\nb\nc', false],
  ['a.c', 'a\nc', false],
];

describe('matching', () => {
  it.each(matches)('%j on %j → %s', (re, input, want) => {
    expect(compileRe2(re).re.test(input)).toBe(want);
  });
  it('the dotAll and anchored options', () => {
    expect(compileRe2('a.c', { dotAll: true }).re.test('xa\ncx')).toBe(true);
    expect(compileRe2('(?-s)a.c', { dotAll: true }).re.test('a\nc')).toBe(false);
    expect(compileRe2('a.c', { anchored: true, dotAll: true }).re.test('xa\ncx')).toBe(false);
  });
});

const errors: Array<[string, string]> = [
  ['a(b', 'missing closing ): `a(b`'], // Go names the whole expression
  ['(a|b', 'missing closing ): `(a|b`'],
  ['a{2}**', 'invalid nested repetition operator: `{2}*`'],
  ['a**', 'invalid nested repetition operator: `**`'],
  ['\\C', 'invalid escape sequence: `\\C`'], // Go does not support \C
  ['(?<=a)b', 'invalid named capture: `(?<=a)b`'], // no lookbehind; Go reads a bad name
  ['(?=x)', 'invalid or unsupported Perl syntax: `(?=`'],
  ['(?i-)', 'invalid or unsupported Perl syntax: `(?i-)`'],
  ['(?P<a-b>x)', 'invalid named capture: `(?P<a-b>`'],
  ['\\x{0110000}', 'invalid escape sequence: `\\x{0110000`'],
];

describe('RE2 errors', () => {
  it.each(errors)('%j', (re, want) => {
    let err: unknown = null;
    try {
      compileRe2(re);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect((err as Error).message).toBe(`error parsing regexp: ${want}`);
  });
});

describe('group names', () => {
  it('lists capture groups in order, unnamed as empty', () => {
    expect(compileRe2('(a)(?P<x>b)(?:c)(?<y>d)(?i)').groupNames).toEqual(['', 'x', 'y']);
  });
  it('a repeated name expands to the leftmost group, as Go', () => {
    const { re, groupNames } = compileRe2('(?P<x>a)(?P<x>b)');
    const m = re.exec('ab') as RegExpExecArray;
    expect(expandTemplate('$x', m, groupNames)).toBe('a');
    expect(promqlExpand('$x', m)).toBe('a');
  });
  it('label_replace templates reach digit-led names', () => {
    const m = compileAnchored('(?P<1x>a+)-(\\d)').exec('aa-7') as RegExpExecArray;
    expect(promqlExpand('${1x}/$2', m)).toBe('aa/7');
    expect(promqlExpand('$1x', m)).toBe('aa');
  });
});

describe('Go regexp.Expand', () => {
  const { re, groupNames } = compileRe2('(?P<word>[a-z]+)-(\\d+)');
  const m = re.exec('abc-42') as RegExpExecArray;
  const cases: Array<[string, string]> = [
    ['$1', 'abc'],
    ['${2}x', '42x'],
    ['$01', ''], // a leading zero makes it a name, not a number
    ['${word}s', 'abcs'],
    ['$wordé', ''], // names run over Unicode letters
    ['$$1', '$1'],
    ['${a-b}', '${a-b}'], // malformed: the "$" is copied
    ['$', '$'],
  ];
  it.each(cases)('%j', (tpl, want) => {
    expect(expandTemplate(tpl, m, groupNames)).toBe(want);
  });
});
