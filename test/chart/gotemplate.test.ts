/**
 * The small Go-template renderer the chart tests rely on (./gotemplate.ts): the Go and Helm
 * behaviours the chart depends on, and its refusal of what it does not implement. Expected outputs
 * are what Go's text/template with Helm's functions produces for the same input.
 */
import { describe, expect, it } from 'vitest';
import { TemplateError, TemplateFail, TemplateSet, goFloat } from './gotemplate.js';

function run(source: string, values: unknown = {}, helpers = ''): string {
  const set = new TemplateSet();
  if (helpers) set.add('_helpers.tpl', helpers);
  set.add('t', source);
  return set.render('t', { Values: values });
}

describe('Go template behaviour the chart relies on', () => {
  it('trim markers remove the whitespace on their side only, comments print nothing', () => {
    expect(run('a  {{- "b" -}}  c')).toBe('abc');
    expect(run('a {{ "b" }} c')).toBe('a b c');
    expect(run('x\n{{- /* a comment */ -}}\ny')).toBe('xy');
    expect(run('{{-3}}')).toBe('-3');
  });

  it('if / else if / else, with truthiness of empty values', () => {
    const t = '{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}';
    expect(run(t, { a: 1, b: true })).toBe('A');
    expect(run(t, { a: '', b: true })).toBe('B');
    expect(run(t, { a: [], b: {} })).toBe('C');
    expect(run(t, { a: 0, b: false })).toBe('C');
  });

  it('range over a map goes in key order; over a list with the index', () => {
    expect(run('{{ range $k, $v := .Values }}{{ $k }}={{ $v }};{{ end }}', { b: 2, a: 1 })).toBe('a=1;b=2;');
    expect(run('{{ range $i, $v := .Values.l }}{{ $i }}:{{ . }} {{ end }}', { l: ['x', 'y'] })).toBe(
      '0:x 1:y ',
    );
    expect(run('{{ range .Values.none }}x{{ else }}empty{{ end }}', {})).toBe('empty');
  });

  it('with changes the dot and skips empty values', () => {
    expect(run('{{ with .Values.a }}[{{ . }}]{{ end }}', { a: 'x' })).toBe('[x]');
    expect(run('{{ with .Values.a }}[{{ . }}]{{ end }}', { a: '' })).toBe('');
  });

  it('variables: := declares, = assigns the outer one', () => {
    expect(run('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}')).toBe('b');
    expect(() => run('{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}')).toThrow(/undefined variable \$y/);
  });

  it('a missing key is nil and prints nothing; a field of nil is an error', () => {
    expect(run('[{{ .Values.missing }}]', {})).toBe('[]');
    expect(() => run('{{ .Values.missing.deeper }}', {})).toThrow(/nil pointer evaluating .deeper/);
  });

  it('define / include, with $ bound to the argument, and chained fields on a pipeline', () => {
    const helpers = '{{- define "h" -}}{{ index . 0 }}-{{ add (index . 1) 1 }}{{- end -}}';
    expect(run('{{ include "h" (list "a" 1) }}', {}, helpers)).toBe('a-2');
    expect(run('{{ ("a: 1\\nb: x" | fromYaml).b }}')).toBe('x');
  });

  it('and / or stop at the first decisive argument, as Go has since 1.18', () => {
    expect(run('{{ and .Values.a .Values.a.b }}', {})).toBe('');
    expect(run('{{ or "x" .Values.a.b }}', {})).toBe('x');
  });

  it('numbers: float64 from values prints as Go does, int from int/add/literals as integers', () => {
    expect(goFloat(10001)).toBe('10001');
    expect(goFloat(1000000)).toBe('1e+06');
    expect(goFloat(1234567)).toBe('1.234567e+06');
    expect(goFloat(0.5)).toBe('0.5');
    expect(run('{{ .Values.n }} {{ int .Values.n }}', { n: 1000000 })).toBe('1e+06 1000000');
    expect(() => run('{{ eq .Values.n 1 }}', { n: 1 })).toThrow(/incompatible types/);
  });
});

describe('Helm and Sprig functions the chart uses', () => {
  it('toYaml sorts keys and has no final newline; toJson escapes as Go does', () => {
    expect(run('{{ toYaml .Values }}', { b: 1, a: { d: [1], c: 'x' } })).toBe(
      'a:\n  c: x\n  d:\n  - 1\nb: 1',
    );
    expect(run('{{ toJson .Values }}', { b: '<&>', a: 1 })).toBe('{"a":1,"b":"\\u003c\\u0026\\u003e"}');
  });

  it('nindent, quote, default, trunc, trimSuffix, replace, printf', () => {
    expect(run('{{ "a\\nb" | nindent 2 }}')).toBe('\n  a\n  b');
    expect(run('{{ -5 | quote }} {{ "x" | quote }}')).toBe('"-5" "x"');
    expect(run('{{ .Values.a | default "d" }} {{ "v" | default "d" }}', {})).toBe('d v');
    expect(run('{{ "abcdef" | trunc 3 }} {{ "ab-" | trimSuffix "-" }}')).toBe('abc ab');
    expect(run('{{ "{app}-{c}" | replace "{app}" "nova" }}')).toBe('nova-{c}');
    expect(run('{{ printf "%s-%d-%q" "a" 5 "b" }}')).toBe('a-5-"b"');
  });

  it('fail and required stop the rendering with their message', () => {
    expect(() => run('{{ fail "no" }}')).toThrow(TemplateFail);
    expect(() => run('{{ required "need x" .Values.x }}', {})).toThrow('need x');
    expect(run('{{ required "need x" .Values.x }}', { x: 'ok' })).toBe('ok');
  });

  it('fromYaml reports errors in an Error key, as Helm does', () => {
    expect(run('{{ hasKey ("- a" | fromYaml) "Error" }}')).toBe('true');
    expect(run('{{ hasKey ("a: 1" | fromYaml) "Error" }}')).toBe('false');
  });

  it('refuses what it does not implement instead of guessing', () => {
    expect(() => run('{{ tpl "x" . }}')).toThrow(TemplateError);
    expect(() => run('{{ template "x" . }}')).toThrow(/not supported/);
    expect(() => run('{{ .Values }}', { a: 1 })).toThrow(/printing a list or map/);
    expect(() => run('{{ "é" | quote }}')).toThrow(/non-ASCII/);
  });
});
