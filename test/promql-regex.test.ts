// RE2 → JavaScript regex translation: Prometheus compiles label matchers and
// label_replace regexes as Go RE2 "^(?s:" + re + ")$"; these cases check the
// RE2 syntax the translation supports, the differences from JS it bridges,
// and that RE2 errors stay errors (never a different match).
import { describe, expect, it } from 'vitest';
import { compileAnchored, RegexSyntaxError } from '../query/promql/index.ts';
import { expandTemplate } from '../query/promql/regex.ts';

const matches: Array<[string, string, boolean]> = [
  ['abc', 'abc', true],
  ['abc', 'xabc', false], // anchored at both ends
  ['abc', 'abcx', false],
  ['a.c', 'a\nc', true], // (?s): dot matches newline
  ['(?-s:a.c)', 'a\nc', false],
  ['(?i)abc', 'ABC', true],
  ['(?i:a)bc', 'Abc', true],
  ['(?i:a)bc', 'ABC', false],
  ['a(?i)bc', 'aBC', true],
  ['a(?i)bc', 'ABC', false],
  ['(?i)[a-c]+', 'AbC', true],
  ['(?i)k', '\u212a', true], // Kelvin sign folds to k in RE2
  ['(?i)straße', 'STRAßE', true],
  ['\\d+', '0123', true],
  ['\\d+', '٣', false], // \d is ASCII only
  ['\\w+', 'a_1', true],
  ['\\s', '\u00a0', false], // \s is [\t\n\f\r ] in RE2
  ['\\s', '\t', true],
  ['\\S+', 'ab', true],
  ['[[:alpha:]]+', 'abcXYZ', true],
  ['[[:digit:]x]+', '12x3', true],
  ['\\pL+', 'héllo', true],
  ['\\p{Greek}+', 'αβγ', true],
  ['\\PL', '1', true],
  ['a{2,3}', 'aaa', true],
  ['a{2,3}', 'aaaa', false],
  ['a{,3}', 'a{,3}', true], // not a repetition in RE2: literal
  ['a{2}', 'aa', true],
  ['[]a]+', ']a]', true], // ] first in a class is literal
  ['[^]a]', 'b', true],
  ['a]', 'a]', true],
  ['x}', 'x}', true],
  ['\\Q.*+\\E', '.*+', true],
  ['\\Q.*+\\E', 'abc', false],
  ['(?P<name>a+)b', 'aab', true],
  ['.*?x', 'yyx', true],
  ['\\Aabc\\z', 'abc', true],
  ['a|b|c', 'b', true],
  ['ab|cd', 'abd', false],
  ['\\.', '.', true],
  ['\\.', 'x', false],
  ['\\-\\_\\/', '-_/', true], // escaped punctuation is literal
  ['\\x41\\x{42}', 'AB', true],
  ['\\101', 'A', true], // octal
  ['😀.', '😀x', true], // code points, not UTF-16 units
  ['.', '😀', true],
  ['(?U)a+', 'aaa', true],
  ['', '', true],
  ['.*', '', true],
  ['foo|', '', true],
];

describe('RE2 regexes, fully anchored', () => {
  it.each(matches)('%j on %j → %s', (re, input, want) => {
    expect(compileAnchored(re).test(input)).toBe(want);
  });
});

const errors: Array<[string, RegExp]> = [
  ['(', /^error parsing regexp: missing closing \): `\(`$/],
  [')', /^error parsing regexp: unexpected \): `\)`$/],
  ['[a', /^error parsing regexp: missing closing \]: `\[a`$/],
  ['\\1', /invalid escape sequence: `\\1`/],
  ['a**', /invalid nested repetition operator: `\*\*`/],
  ['*a', /missing argument to repetition operator: `\*`/],
  ['x{1001}', /invalid repeat count/],
  ['[z-a]', /invalid character class range: `z-a`/],
  ['(?<n', /invalid named capture/],
  ['(?z)', /invalid or unsupported Perl syntax/],
  ['\\pX', /invalid character class range/],
  ['\\', /trailing backslash/],
];

describe('RE2 syntax errors stay errors', () => {
  it.each(errors)('%j', (re, want) => {
    let err: unknown = null;
    try {
      compileAnchored(re);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegexSyntaxError);
    expect((err as Error).message).toMatch(want);
  });
});

describe('Go regexp.Expand templates (label_replace)', () => {
  const m = /^(?<word>[a-z]+)-(\d+)$/.exec('abc-42') as RegExpExecArray;
  const cases: Array<[string, string]> = [
    ['$1', 'abc'],
    ['$2', '42'],
    ['${1}x', 'abcx'],
    ['$1x', ''], // the group named "1x" does not exist
    ['$word', 'abc'],
    ['${word}s', 'abcs'],
    ['$$1', '$1'],
    ['$9', ''],
    ['a$', 'a$'],
    ['${', '${'],
    ['pre-$2-post', 'pre-42-post'],
  ];
  it.each(cases)('%j', (tpl, want) => {
    expect(expandTemplate(tpl, m)).toBe(want);
  });
});
