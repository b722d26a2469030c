// PromQL functions, table-driven. Expected values are derived from the
// Prometheus documentation and the semantics exercised by Prometheus's
// promql/promqltest/testdata/functions.test, re-expressed as tables here
// (float samples only: fleetwatch stores no native histograms).
import { describe, it } from 'vitest';
import { harness, inst, load, rng, fails, runCase, caseName, type Block } from './helpers/promql.ts';

const blocks: Block[] = [
  {
    name: 'resets and changes',
    interval: '5m',
    load: `
      http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0
      http_requests{path="/bar"} 1 2 3 4 5 1 2 3 4 5
      http_requests{path="/biz"} 0 0 0 0 0 1 1 1 1 1
      x{a="b"} NaN NaN NaN
      x{a="c"} 0 NaN 0
      testmetric1{src="a",dst="b"} 0
      testmetric2{src="a",dst="b"} 1`,
    cases: [
      // the window (45m, 50m] is empty: the last sample is at 45m
      inst('resets(http_requests[5m])', '50m', []),
      inst('resets(http_requests[10m])', '50m', [['{path="/foo"}', 0], ['{path="/bar"}', 0], ['{path="/biz"}', 0]]),
      inst('resets(http_requests[600])', '50m', [['{path="/foo"}', 0], ['{path="/bar"}', 0], ['{path="/biz"}', 0]]),
      inst('resets(http_requests[20m])', '50m', [['{path="/foo"}', 1], ['{path="/bar"}', 0], ['{path="/biz"}', 0]]),
      inst('resets(http_requests[32m])', '50m', [['{path="/foo"}', 2], ['{path="/bar"}', 1], ['{path="/biz"}', 0]]),
      inst('resets(http_requests[50m])', '50m', [['{path="/foo"}', 3], ['{path="/bar"}', 1], ['{path="/biz"}', 0]]),
      inst('resets(nonexistent_metric[50m])', '50m', []),
      inst('changes(http_requests[5m])', '50m', []),
      inst('changes(http_requests[6m])', '50m', [['{path="/foo"}', 0], ['{path="/bar"}', 0], ['{path="/biz"}', 0]]),
      inst('changes(http_requests[20m])', '50m', [['{path="/foo"}', 2], ['{path="/bar"}', 2], ['{path="/biz"}', 0]]),
      inst('changes(http_requests[30m])', '50m', [['{path="/foo"}', 3], ['{path="/bar"}', 4], ['{path="/biz"}', 0]]),
      inst('changes(http_requests[50m])', '50m', [['{path="/foo"}', 7], ['{path="/bar"}', 8], ['{path="/biz"}', 1]]),
      inst('changes((http_requests[50m]))', '50m', [['{path="/foo"}', 7], ['{path="/bar"}', 8], ['{path="/biz"}', 1]]),
      // NaN to NaN is no change; 0 to NaN and back are two
      inst('changes(x[20m])', '15m', [['{a="b"}', 0], ['{a="c"}', 2]]),
      // two series that only differ by name collide once the name is dropped
      fails('changes({__name__=~"testmetric1|testmetric2"}[5m])', '0m', 'vector cannot contain metrics with the same labelset', 'execution'),
    ],
  },
  {
    name: 'increase and rate extrapolation',
    interval: '5m',
    load: `
      http_requests_total{path="/foo"} 0+10x10
      http_requests_total{path="/bar"} 0+18x5 0+18x5
      http_requests_total{path="/dings"} 10+10x10
      http_requests_total{path="/bumms"} 1+10x10
      reset_total{path="/foo"} 0 1 2 3 2 3 4
      testcounter_reset_middle_total 0+27x4 0+27x5
      testcounter_reset_end_total 0+10x9 0 10
      calculate_rate_offset_total{x="a"} 0+10x10
      calculate_rate_offset_total{x="b"} 0+20x10
      calculate_rate_window_total 0+80x10`,
    cases: [
      inst('increase(http_requests_total[50m])', '50m', [['{path="/foo"}', 100], ['{path="/bar"}', 160], ['{path="/dings"}', 100], ['{path="/bumms"}', 100]]),
      // A window reaching back before the first sample: extrapolate by half an
      // interval, but never below a zero counter value ("dings" would reach 0 at
      // -5m so half an interval applies; "bumms" reaches 0 at -30s).
      inst('increase(http_requests_total[100m])', '50m', [['{path="/foo"}', 100], ['{path="/bar"}', 162], ['{path="/dings"}', 105], ['{path="/bumms"}', 101]]),
      // a decrease is a reset to 0: 3 2 counts as 3 0 1 2
      inst('increase(reset_total[30m])', '30m', [['{path="/foo"}', 7]]),
      inst('rate(testcounter_reset_middle_total[50m])', '50m', [['{}', 0.08]]),
      // a reset at the very end: the only sample in the window cannot give a rate
      inst('rate(testcounter_reset_end_total[5m])', '50m', []),
      inst('rate(testcounter_reset_end_total[6m])', '50m', [['{}', 0]]),
      inst('rate(calculate_rate_window_total[50m])', '50m', [['{}', 0.26666666666666666]]),
      inst('rate(calculate_rate_offset_total[10m] offset 5m)', '50m', [['{x="a"}', 0.03333333333333333], ['{x="b"}', 0.06666666666666667]]),
      // not a counter name: an info annotation, still computed
      inst('rate(http_requests_total[50m])', '50m', [['{path="/foo"}', 100 / 3000], ['{path="/bar"}', 160 / 3000], ['{path="/dings"}', 100 / 3000], ['{path="/bumms"}', 100 / 3000]], { noAnnotations: true }),
    ],
  },
  {
    name: 'rate zero cutoff',
    interval: '4m',
    load: `
      testcounter_zero_cutoff_total{start="0m"} 0+240x10
      testcounter_zero_cutoff_total{start="1m"} 60+240x10
      testcounter_zero_cutoff_total{start="2m"} 120+240x10
      testcounter_zero_cutoff_total{start="3m"} 180+240x10
      testcounter_zero_cutoff_total{start="4m"} 240+240x10
      testcounter_zero_cutoff_total{start="5m"} 300+240x10`,
    cases: [
      // The left extrapolation stops where the counter would be zero, until that is
      // further than half an interval (2m) away.
      inst('rate(testcounter_zero_cutoff_total[20m])', '10m', [
        ['{start="0m"}', 0.5],
        ['{start="1m"}', 0.55],
        ['{start="2m"}', 0.6],
        ['{start="3m"}', 0.6],
        ['{start="4m"}', 0.6],
        ['{start="5m"}', 0.6],
      ]),
      inst('rate(testcounter_zero_cutoff_total[20m])', '50m', [
        ['{start="0m"}', 0.6],
        ['{start="1m"}', 0.6],
        ['{start="2m"}', 0.6],
        ['{start="3m"}', 0.6],
        ['{start="4m"}', 0.6],
        ['{start="5m"}', 0.6],
      ]),
    ],
  },
  {
    name: 'irate, idelta and delta',
    interval: '5m',
    load: `
      http_requests_total{path="/foo"} 0+10x10
      http_requests_total{path="/bar"} 0+10x5 0+10x5
      http_requests_nan 1 NaN NaN 5 11
      http_requests{path="/foo"} 0 50 100 150 200
      http_requests{path="/bar"} 200 150 100 50 0
      gauge{path="/foo"} 0 50 100 150
      gauge{path="/bar"} 0 50 100 50`,
    cases: [
      inst('irate(http_requests_total[50m])', '50m', [['{path="/foo"}', 1 / 30], ['{path="/bar"}', 1 / 30]]),
      // counter reset between the last two samples: the last value over the interval
      inst('irate(http_requests_total[50m])', '30m', [['{path="/foo"}', 1 / 30], ['{path="/bar"}', 0]]),
      rng('irate(http_requests_nan[15m1s])', '0', '20m', '5m', [['{}', '_ NaN NaN NaN 0.02']]),
      inst('delta(http_requests[20m])', '20m', [['{path="/foo"}', 200], ['{path="/bar"}', -200]]),
      inst('idelta(gauge[20m])', '20m', [['{path="/foo"}', 50], ['{path="/bar"}', -50]]),
      rng('idelta(http_requests_nan[15m1s])', '0', '20m', '5m', [['{}', '_ NaN NaN NaN 6']]),
    ],
  },
  {
    name: 'deriv and predict_linear',
    interval: '5m',
    load: `
      testcounter_reset_middle_total 0+10x4 0+10x5
      http_requests_total{job="app-server", instance="1", group="canary"} 0+80x10
      http_requests_inf{job="app-server", instance="1", group="canary"} -Inf 0+80x10 Inf`,
    cases: [
      inst('deriv(http_requests_total[50m])', '50m', [['{group="canary", instance="1", job="app-server"}', 0.26666666666666666]]),
      // least squares over the reset: slope 0.0106 per second (see the sums in the test comment)
      inst('deriv(testcounter_reset_middle_total[100m])', '50m', [['{}', 0.010606060606060607]]),
      inst('deriv(http_requests_inf[100m])', '100m', [['{group="canary", instance="1", job="app-server"}', NaN]]),
      inst('predict_linear(testcounter_reset_middle_total[50m], 3600)', '50m', [['{}', 70]]),
      inst('predict_linear(testcounter_reset_middle_total[50m], 1h)', '50m', [['{}', 70]]),
      // with @ the window is fixed but the prediction is from the evaluation time
      inst('predict_linear(testcounter_reset_middle_total[55m] @ 3000, 3600)', '50m', [['{}', 76.81818181818181]]),
      inst('predict_linear(testcounter_reset_middle_total[55m] @ 3000, 3600)', '10m', [['{}', 51.36363636363637]]),
      inst('predict_linear(testcounter_reset_middle_total[55m] @ 3000, 3600)', '70m', [['{}', 89.54545454545455]]),
      inst('predict_linear(http_requests_inf[100m], 6000)', '100m', [['{group="canary", instance="1", job="app-server"}', NaN]]),
      inst('predict_linear(http_requests_total[50m], 3600) - (http_requests_total + deriv(http_requests_total[50m]) * 3600)', '50m', [['{group="canary", instance="1", job="app-server"}', 0]]),
      // a single sample gives no regression
      inst('deriv(http_requests_total[5m])', '50m', []),
    ],
  },
  {
    name: 'label_replace and label_join',
    interval: '5m',
    load: `
      testmetric{src="source-value-10",dst="original-destination-value"} 0
      testmetric{src="source-value-20",dst="original-destination-value"} 1
      joinmetric{src="a",src1="b",src2="c",dst="original-destination-value"} 0
      joinmetric{src="d",src1="e",src2="f",dst="original-destination-value"} 1
      dup{label="a", this="a"} 1
      dup{label="b", this="a"} 1`,
    cases: [
      inst('label_replace(testmetric, "dst", "destination-value-$1", "src", "source-value-(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="destination-value-10"}', 0],
        ['testmetric{src="source-value-20",dst="destination-value-20"}', 1],
      ]),
      // anchored: no substring match
      inst('label_replace(testmetric, "dst", "destination-value-$1", "src", "value-(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="original-destination-value"}', 0],
        ['testmetric{src="source-value-20",dst="original-destination-value"}', 1],
      ]),
      inst('label_replace(testmetric, "dst", "$1-value-$2", "src", "(.*)-value-(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="source-value-10"}', 0],
        ['testmetric{src="source-value-20",dst="source-value-20"}', 1],
      ]),
      inst('label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "source-value-(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="original-destination-value"}', 0],
        ['testmetric{src="source-value-20",dst="original-destination-value"}', 1],
      ]),
      // an absent source label is "", which (.*) matches
      inst('label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="value-"}', 0],
        ['testmetric{src="source-value-20",dst="value-"}', 1],
      ]),
      inst('label_replace((((testmetric))), (("dst")), (("value-$1")), (("src")), (("non-matching-regex")))', 0, [
        ['testmetric{src="source-value-10",dst="original-destination-value"}', 0],
        ['testmetric{src="source-value-20",dst="original-destination-value"}', 1],
      ]),
      // an empty value removes the label
      inst('label_replace(testmetric, "dst", "", "dst", ".*")', 0, [
        ['testmetric{src="source-value-10"}', 0],
        ['testmetric{src="source-value-20"}', 1],
      ]),
      // Go template expansion: $1x is the (missing) group "1x", ${1}x is group 1 then x
      inst('label_replace(testmetric, "dst", "$1x", "src", "source-value-(.*)")', 0, [
        ['testmetric{src="source-value-10"}', 0],
        ['testmetric{src="source-value-20"}', 1],
      ]),
      inst('label_replace(testmetric, "dst", "${1}x", "src", "source-value-(.*)")', 0, [
        ['testmetric{src="source-value-10",dst="10x"}', 0],
        ['testmetric{src="source-value-20",dst="20x"}', 1],
      ]),
      inst('label_replace(testmetric, "dst", "$name", "src", "source-value-(?P<name>.*)")', 0, [
        ['testmetric{src="source-value-10",dst="10"}', 0],
        ['testmetric{src="source-value-20",dst="20"}', 1],
      ]),
      // the metric name can be rewritten too
      inst('label_replace(testmetric, "__name__", "renamed", "src", ".*-10")', 0, [
        ['renamed{src="source-value-10",dst="original-destination-value"}', 0],
        ['testmetric{src="source-value-20",dst="original-destination-value"}', 1],
      ]),
      fails('label_replace(testmetric, "dst", "value-$1", "src", "(.*")', 0, 'invalid regular expression in label_replace(): (.*', 'execution'),
      fails('label_replace(testmetric, "", "", "src", "(.*)")', 0, 'invalid destination label name in label_replace(): ', 'execution'),
      fails('label_replace(testmetric, "src", "", "", "")', 0, 'vector cannot contain metrics with the same labelset'),
      inst('label_join(joinmetric, "dst", "-", "src", "src1", "src2")', 0, [
        ['joinmetric{src="a",src1="b",src2="c",dst="a-b-c"}', 0],
        ['joinmetric{src="d",src1="e",src2="f",dst="d-e-f"}', 1],
      ]),
      inst('label_join(joinmetric, "dst", "-", "src", "src3", "src1")', 0, [
        ['joinmetric{src="a",src1="b",src2="c",dst="a--b"}', 0],
        ['joinmetric{src="d",src1="e",src2="f",dst="d--e"}', 1],
      ]),
      inst('label_join(joinmetric, "dst", "", "emptysrc", "emptysrc1")', 0, [
        ['joinmetric{src="a",src1="b",src2="c"}', 0],
        ['joinmetric{src="d",src1="e",src2="f"}', 1],
      ]),
      inst('label_join(joinmetric, "dst", ", ")', 0, [
        ['joinmetric{src="a",src1="b",src2="c"}', 0],
        ['joinmetric{src="d",src1="e",src2="f"}', 1],
      ]),
      inst('label_join(joinmetric, "new", ", ", "src", "src1")', 0, [
        ['joinmetric{src="a",src1="b",src2="c",dst="original-destination-value",new="a, b"}', 0],
        ['joinmetric{src="d",src1="e",src2="f",dst="original-destination-value",new="d, e"}', 1],
      ]),
      fails('label_join(dup, "label", "", "this")', 0, 'vector cannot contain metrics with the same labelset'),
    ],
  },
  {
    name: 'label functions merge series that never overlap',
    interval: '20m',
    load: `
      series{label="a", idx="1"} 2 _
      series{label="a", idx="2"} _ 4
      overlap{label="a", idx="1"} 1
      overlap{label="a", idx="2"} 2`,
    cases: [
      inst('label_replace(series, "idx", "replaced", "idx", ".*")', 0, [['series{label="a", idx="replaced"}', 2]]),
      inst('label_replace(series, "idx", "replaced", "idx", ".*")', '20m', [['series{label="a", idx="replaced"}', 4]]),
      rng('label_replace(series, "idx", "replaced", "idx", ".*")', 0, '20m', '20m', [['series{label="a", idx="replaced"}', '2 4']]),
      rng('label_join(series, "idx", ",", "label", "label")', 0, '20m', '20m', [['series{label="a", idx="a,a"}', '2 4']]),
      fails('label_replace(overlap, "idx", "same", "idx", ".*")', 0, 'vector cannot contain metrics with the same labelset'),
      fails('label_join(overlap, "idx", ",", "label", "label")', 0, 'vector cannot contain metrics with the same labelset'),
    ],
  },
  {
    name: 'vector, time, timestamp',
    interval: '10s',
    load: `
      metric 1 1
      dense 0+1x1000`,
    cases: [
      inst('timestamp(metric)', '0s', [['{}', 0]]),
      inst('timestamp(metric)', '5s', [['{}', 0]]),
      inst('timestamp(((metric)))', '5s', [['{}', 0]]),
      inst('timestamp(metric)', '10s', [['{}', 10]]),
      // within the lookback the latest sample's own timestamp
      inst('timestamp(metric)', '3m', [['{}', 10]]),
      inst('timestamp(metric offset 5s)', '12s', [['{}', 0]]),
      inst('timestamp(metric @ 5)', '100s', [['{}', 0]]),
      // over an expression, samples are at the evaluation time
      inst('timestamp(abs(metric))', '15s', [['{}', 15]]),
      rng('timestamp(dense)', 0, '21s', '1s', [['{}', '0x9 10x9 20 20']]),
      inst('vector(1)', 0, [['{}', 1]]),
      inst('vector(time())', '5s', [['{}', 5]]),
      inst('vector(time())', '60m', [['{}', 3600]]),
      inst('time()', '1ms', 0.001),
      inst('time()', '50m', 3000),
      inst('pi()', 0, Math.PI),
    ],
  },
  {
    name: 'clamp, clamp_min, clamp_max, sgn',
    interval: '5m',
    load: `
      test_clamp{src="clamp-a"} -50
      test_clamp{src="clamp-b"} 0
      test_clamp{src="clamp-c"} 100
      test_sgn{src="sgn-a"} -Inf
      test_sgn{src="sgn-b"} Inf
      test_sgn{src="sgn-c"} NaN
      test_sgn{src="sgn-d"} -50
      test_sgn{src="sgn-e"} 0
      test_sgn{src="sgn-f"} 100`,
    cases: [
      inst('clamp_max(test_clamp, 75)', 0, [['{src="clamp-a"}', -50], ['{src="clamp-b"}', 0], ['{src="clamp-c"}', 75]]),
      inst('clamp_min(test_clamp, -25)', 0, [['{src="clamp-a"}', -25], ['{src="clamp-b"}', 0], ['{src="clamp-c"}', 100]]),
      inst('clamp(test_clamp, -25, 75)', 0, [['{src="clamp-a"}', -25], ['{src="clamp-b"}', 0], ['{src="clamp-c"}', 75]]),
      inst('clamp_max(clamp_min(test_clamp, -20), 70)', 0, [['{src="clamp-a"}', -20], ['{src="clamp-b"}', 0], ['{src="clamp-c"}', 70]]),
      inst('clamp_max((clamp_min(test_clamp, (-20))), (70))', 0, [['{src="clamp-a"}', -20], ['{src="clamp-b"}', 0], ['{src="clamp-c"}', 70]]),
      inst('clamp(test_clamp, 0, NaN)', 0, [['{src="clamp-a"}', NaN], ['{src="clamp-b"}', NaN], ['{src="clamp-c"}', NaN]]),
      inst('clamp(test_clamp, NaN, 0)', 0, [['{src="clamp-a"}', NaN], ['{src="clamp-b"}', NaN], ['{src="clamp-c"}', NaN]]),
      // min above max: nothing
      inst('clamp(test_clamp, 5, -5)', 0, []),
      inst('sgn(test_sgn)', 0, [['{src="sgn-a"}', -1], ['{src="sgn-b"}', 1], ['{src="sgn-c"}', NaN], ['{src="sgn-d"}', -1], ['{src="sgn-e"}', 0], ['{src="sgn-f"}', 1]]),
    ],
  },
  {
    name: 'abs, ceil, floor, round',
    interval: '5m',
    load: `
      data{type="positive"} 2.5
      data{type="whole"} 2
      data{type="negative"} -2.5
      data{type="nwhole"} -2
      data{type="zero"} 0
      data{type="inf"} +Inf
      data{type="ninf"} -Inf
      data{type="nan"} NaN
      r{a="1"} 1.234
      r{a="2"} 1.25
      r{a="3"} -1.25`,
    cases: [
      inst('abs(data)', 0, [['{type="positive"}', 2.5], ['{type="whole"}', 2], ['{type="negative"}', 2.5], ['{type="nwhole"}', 2], ['{type="zero"}', 0], ['{type="inf"}', Infinity], ['{type="ninf"}', Infinity], ['{type="nan"}', NaN]]),
      inst('ceil(data)', 0, [['{type="positive"}', 3], ['{type="whole"}', 2], ['{type="negative"}', -2], ['{type="nwhole"}', -2], ['{type="zero"}', 0], ['{type="inf"}', Infinity], ['{type="ninf"}', -Infinity], ['{type="nan"}', NaN]]),
      inst('floor(data)', 0, [['{type="positive"}', 2], ['{type="whole"}', 2], ['{type="negative"}', -3], ['{type="nwhole"}', -2], ['{type="zero"}', 0], ['{type="inf"}', Infinity], ['{type="ninf"}', -Infinity], ['{type="nan"}', NaN]]),
      // ties round up (towards +Inf)
      inst('round(data)', 0, [['{type="positive"}', 3], ['{type="whole"}', 2], ['{type="negative"}', -2], ['{type="nwhole"}', -2], ['{type="zero"}', 0], ['{type="inf"}', Infinity], ['{type="ninf"}', -Infinity], ['{type="nan"}', NaN]]),
      inst('round(r, 0.1)', 0, [['{a="1"}', 1.2], ['{a="2"}', 1.3], ['{a="3"}', -1.2]]),
      inst('round(r, 5)', 0, [['{a="1"}', 0], ['{a="2"}', 0], ['{a="3"}', 0]]),
    ],
  },
  {
    name: 'exp, ln, log2, log10, sqrt',
    interval: '5m',
    load: `
      exp_root_log{l="x"} 10
      exp_root_log{l="y"} 20`,
    cases: [
      inst('exp(exp_root_log)', '1m', [['{l="x"}', 22026.465794806718], ['{l="y"}', 485165195.4097903]]),
      inst('exp(exp_root_log - 10)', '1m', [['{l="y"}', 22026.465794806718], ['{l="x"}', 1]]),
      inst('exp(exp_root_log - 20)', '1m', [['{l="x"}', 4.5399929762484854e-5], ['{l="y"}', 1]]),
      inst('ln(exp_root_log)', '1m', [['{l="x"}', 2.302585092994046], ['{l="y"}', 2.995732273553991]]),
      inst('ln(exp_root_log - 10)', '1m', [['{l="y"}', 2.302585092994046], ['{l="x"}', -Infinity]]),
      inst('ln(exp_root_log - 20)', '1m', [['{l="y"}', -Infinity], ['{l="x"}', NaN]]),
      inst('exp(ln(exp_root_log))', '1m', [['{l="y"}', 20], ['{l="x"}', 10]]),
      inst('sqrt(exp_root_log)', '1m', [['{l="x"}', 3.1622776601683795], ['{l="y"}', 4.47213595499958]]),
      inst('log2(exp_root_log)', '1m', [['{l="x"}', 3.3219280948873626], ['{l="y"}', 4.321928094887363]]),
      inst('log2(exp_root_log - 20)', '1m', [['{l="x"}', NaN], ['{l="y"}', -Infinity]]),
      inst('log10(exp_root_log)', '1m', [['{l="x"}', 1], ['{l="y"}', 1.301029995663981]]),
      inst('log10(exp_root_log - 10)', '1m', [['{l="y"}', 1], ['{l="x"}', -Infinity]]),
    ],
  },
  {
    name: 'trigonometry',
    interval: '5m',
    load: `
      trig{l="x"} 10
      trig{l="y"} 20
      trig{l="NaN"} NaN`,
    cases: [
      // expected values are Go math's results (Prometheus computes with Go's math package)
      inst('sin(trig)', '1m', [['{l="x"}', -0.5440211108893699], ['{l="y"}', 0.9129452507276277], ['{l="NaN"}', NaN]]),
      inst('cos(trig)', '1m', [['{l="x"}', -0.8390715290764524], ['{l="y"}', 0.40808206181339196], ['{l="NaN"}', NaN]]),
      inst('tan(trig)', '1m', [['{l="x"}', 0.6483608274590867], ['{l="y"}', 2.2371609442247427], ['{l="NaN"}', NaN]]),
      inst('asin(trig - 10.1)', '1m', [['{l="x"}', -0.10016742116155944], ['{l="y"}', NaN], ['{l="NaN"}', NaN]]),
      inst('acos(trig - 10.1)', '1m', [['{l="x"}', 1.670963747956456], ['{l="y"}', NaN], ['{l="NaN"}', NaN]]),
      inst('atan(trig)', '1m', [['{l="x"}', 1.4711276743037345], ['{l="y"}', 1.5208379310729538], ['{l="NaN"}', NaN]]),
      inst('sinh(trig)', '1m', [['{l="x"}', 11013.232920103324], ['{l="y"}', 2.4258259770489514e8], ['{l="NaN"}', NaN]]),
      inst('cosh(trig)', '1m', [['{l="x"}', 11013.232920103324], ['{l="y"}', 2.4258259770489514e8], ['{l="NaN"}', NaN]]),
      inst('tanh(trig)', '1m', [['{l="x"}', 0.9999999958776927], ['{l="y"}', 1], ['{l="NaN"}', NaN]]),
      inst('asinh(trig)', '1m', [['{l="x"}', 2.99822295029797], ['{l="y"}', 3.6895038689889055], ['{l="NaN"}', NaN]]),
      inst('acosh(trig)', '1m', [['{l="x"}', 2.993222846126381], ['{l="y"}', 3.6882538673612966], ['{l="NaN"}', NaN]]),
      inst('atanh(trig - 10.1)', '1m', [['{l="x"}', -0.10033534773107522], ['{l="y"}', NaN], ['{l="NaN"}', NaN]]),
      inst('rad(trig)', '1m', [['{l="x"}', 0.17453292519943295], ['{l="y"}', 0.3490658503988659], ['{l="NaN"}', NaN]]),
      inst('rad(trig - 10)', '1m', [['{l="x"}', 0], ['{l="y"}', 0.17453292519943295], ['{l="NaN"}', NaN]]),
      inst('rad(trig - 20)', '1m', [['{l="x"}', -0.17453292519943295], ['{l="y"}', 0], ['{l="NaN"}', NaN]]),
      inst('deg(trig)', '1m', [['{l="x"}', 572.9577951308232], ['{l="y"}', 1145.9155902616465], ['{l="NaN"}', NaN]]),
      inst('deg(trig - 10)', '1m', [['{l="x"}', 0], ['{l="y"}', 572.9577951308232], ['{l="NaN"}', NaN]]),
      inst('deg(trig - 20)', '1m', [['{l="x"}', -572.9577951308232], ['{l="y"}', 0], ['{l="NaN"}', NaN]]),
      inst('pi()', 0, 3.141592653589793),
      inst('rad(deg(trig))', '1m', [['{l="x"}', 10], ['{l="y"}', 20], ['{l="NaN"}', NaN]]),
    ],
  },
  {
    name: 'sort and sort_desc',
    interval: '5m',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 0+10x10
      http_requests{job="api-server", instance="1", group="production"} 0+20x10
      http_requests{job="api-server", instance="0", group="canary"} 0+30x10
      http_requests{job="api-server", instance="1", group="canary"} 0+40x10
      http_requests{job="api-server", instance="2", group="canary"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
      http_requests{job="app-server", instance="0", group="production"} 0+50x10
      http_requests{job="app-server", instance="1", group="production"} 0+60x10
      http_requests{job="app-server", instance="0", group="canary"} 0+70x10
      http_requests{job="app-server", instance="1", group="canary"} 0+80x10`,
    cases: [
      inst(
        'sort(http_requests)',
        '50m',
        [
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
          ['http_requests{group="canary", instance="1", job="api-server"}', 400],
          ['http_requests{group="production", instance="0", job="app-server"}', 500],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="2", job="api-server"}', NaN],
        ],
        { ordered: true },
      ),
      inst(
        'sort_desc(http_requests)',
        '50m',
        [
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
          ['http_requests{group="production", instance="0", job="app-server"}', 500],
          ['http_requests{group="canary", instance="1", job="api-server"}', 400],
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="canary", instance="2", job="api-server"}', NaN],
        ],
        { ordered: true },
      ),
      inst('sort(http_requests{instance="0"})', '10m', [
        ['http_requests{group="production", instance="0", job="api-server"}', 20],
        ['http_requests{group="canary", instance="0", job="api-server"}', 60],
        ['http_requests{group="production", instance="0", job="app-server"}', 100],
        ['http_requests{group="canary", instance="0", job="app-server"}', 140],
      ], { ordered: true }),
    ],
  },
  {
    name: 'sort_by_label',
    interval: '5m',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 0+10x10
      http_requests{job="api-server", instance="1", group="production"} 0+20x10
      http_requests{job="api-server", instance="0", group="canary"} 0+30x10
      http_requests{job="api-server", instance="1", group="canary"} 0+40x10
      http_requests{job="api-server", instance="2", group="canary"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
      http_requests{job="app-server", instance="0", group="production"} 0+50x10
      http_requests{job="app-server", instance="1", group="production"} 0+60x10
      http_requests{job="app-server", instance="0", group="canary"} 0+70x10
      http_requests{job="app-server", instance="1", group="canary"} 0+80x10
      http_requests{job="api-server", instance="2", group="production"} 0+10x10
      cpu_time_total{job="cpu", cpu="0"} 0+10x10
      cpu_time_total{job="cpu", cpu="1"} 0+10x10
      cpu_time_total{job="cpu", cpu="2"} 0+10x10
      cpu_time_total{job="cpu", cpu="3"} 0+10x10
      cpu_time_total{job="cpu", cpu="10"} 0+10x10
      cpu_time_total{job="cpu", cpu="11"} 0+10x10
      cpu_time_total{job="cpu", cpu="12"} 0+10x10
      cpu_time_total{job="cpu", cpu="20"} 0+10x10
      cpu_time_total{job="cpu", cpu="21"} 0+10x10
      cpu_time_total{job="cpu", cpu="100"} 0+10x10
      node_uname_info{job="node_exporter", instance="4m600", release="1.2.3"} 0+10x10
      node_uname_info{job="node_exporter", instance="4m5", release="1.11.3"} 0+10x10
      node_uname_info{job="node_exporter", instance="4m1000", release="1.111.3"} 0+10x10`,
    cases: [
      inst(
        'sort_by_label(http_requests, "instance")',
        '50m',
        [
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="production", instance="0", job="app-server"}', 500],
          ['http_requests{group="canary", instance="1", job="api-server"}', 400],
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
          ['http_requests{group="canary", instance="2", job="api-server"}', NaN],
          ['http_requests{group="production", instance="2", job="api-server"}', 100],
        ],
        { ordered: true },
      ),
      inst(
        'sort_by_label(http_requests, "job", "instance", "group")',
        '50m',
        [
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="canary", instance="1", job="api-server"}', 400],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="canary", instance="2", job="api-server"}', NaN],
          ['http_requests{group="production", instance="2", job="api-server"}', 100],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="0", job="app-server"}', 500],
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
        ],
        { ordered: true },
      ),
      inst(
        'sort_by_label_desc(http_requests, "instance")',
        '50m',
        [
          ['http_requests{group="production", instance="2", job="api-server"}', 100],
          ['http_requests{group="canary", instance="2", job="api-server"}', NaN],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="1", job="api-server"}', 400],
          ['http_requests{group="production", instance="0", job="app-server"}', 500],
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
        ],
        { ordered: true },
      ),
      // natural order: numbers compare as numbers
      inst(
        'sort_by_label(cpu_time_total, "cpu")',
        '50m',
        ['0', '1', '2', '3', '10', '11', '12', '20', '21', '100'].map((c) => [`cpu_time_total{job="cpu", cpu="${c}"}`, 100] as const),
        { ordered: true },
      ),
      inst(
        'sort_by_label(node_uname_info, "instance")',
        '50m',
        [
          ['node_uname_info{job="node_exporter", instance="4m5", release="1.11.3"}', 100],
          ['node_uname_info{job="node_exporter", instance="4m600", release="1.2.3"}', 100],
          ['node_uname_info{job="node_exporter", instance="4m1000", release="1.111.3"}', 100],
        ],
        { ordered: true },
      ),
      inst(
        'sort_by_label(node_uname_info, "release")',
        '50m',
        [
          ['node_uname_info{job="node_exporter", instance="4m600", release="1.2.3"}', 100],
          ['node_uname_info{job="node_exporter", instance="4m5", release="1.11.3"}', 100],
          ['node_uname_info{job="node_exporter", instance="4m1000", release="1.111.3"}', 100],
        ],
        { ordered: true },
      ),
    ],
  },
  {
    name: 'double_exponential_smoothing',
    interval: '10s',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000
      http_requests{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000
      http_requests{job="api-server", instance="0", group="canary"} 0+30x1000 300+80x1000
      http_requests{job="api-server", instance="1", group="canary"} 0+40x2000
      falling{job="api-server", instance="0", group="production"} 8000-10x1000
      falling{job="api-server", instance="1", group="production"} 0-20x1000
      falling{job="api-server", instance="0", group="canary"} 0+30x1000 300-80x1000
      falling{job="api-server", instance="1", group="canary"} 0-40x1000 0+40x1000`,
    cases: [
      inst('double_exponential_smoothing(http_requests[1m], 0.01, 0.1)', '8000s', [
        ['{job="api-server", instance="0", group="production"}', 8000],
        ['{job="api-server", instance="1", group="production"}', 16000],
        ['{job="api-server", instance="0", group="canary"}', 24000],
        ['{job="api-server", instance="1", group="canary"}', 32000],
      ]),
      inst('double_exponential_smoothing(falling[1m], 0.01, 0.1)', '8000s', [
        ['{job="api-server", instance="0", group="production"}', 0],
        ['{job="api-server", instance="1", group="production"}', -16000],
        ['{job="api-server", instance="0", group="canary"}', 24000],
        ['{job="api-server", instance="1", group="canary"}', -32000],
      ]),
      fails('double_exponential_smoothing(http_requests[1m], 1, 0.1)', '8000s', 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000', 'execution'),
      fails('double_exponential_smoothing(http_requests[1m], 0.5, 0)', '8000s', 'invalid trend factor. Expected: 0 < tf < 1, got: 0.000000', 'execution'),
      // Prometheus 3 renamed holt_winters
      fails('holt_winters(http_requests[1m], 0.5, 0.5)', '8000s', '1:1: parse error: unknown function with name "holt_winters"', 'bad_data'),
    ],
  },
  {
    name: 'avg_over_time and sum_over_time with extreme values',
    interval: '10s',
    load: `
      metric 1 2 3 4 5
      metric2 1 2 3 4 Inf
      metric3 1 2 3 4 -Inf
      metric4 1 2 3 Inf -Inf
      metric5 Inf 0 Inf
      metric5c Inf Inf Inf -Inf
      metric6 1 2 3 -Inf -Inf
      metric6c -Inf -Inf -Inf Inf
      metric7 1 2 -Inf -Inf Inf
      metric8 9.988465674311579e+307 9.988465674311579e+307
      metric9 -9.988465674311579e+307 -9.988465674311579e+307 -9.988465674311579e+307
      metric10 -9.988465674311579e+307 9.988465674311579e+307
      metric11 1 2 3 NaN NaN
      bigsmall 1 1e100 1 -1e100
      flat 52+0x100`,
    cases: [
      inst('avg_over_time(metric[10s])', '55s', []),
      inst('avg_over_time(metric[20s])', '55s', [['{}', 5]]),
      inst('avg_over_time(metric[1m])', '55s', [['{}', 3]]),
      inst('sum_over_time(metric[1m])/count_over_time(metric[1m])', '55s', [['{}', 3]]),
      inst('avg_over_time(metric2[1m])', '55s', [['{}', Infinity]]),
      inst('avg_over_time(metric3[1m])', '55s', [['{}', -Infinity]]),
      inst('avg_over_time(metric4[1m])', '55s', [['{}', NaN]]),
      inst('avg_over_time(metric5[1m])', '55s', [['{}', Infinity]]),
      inst('avg_over_time(metric5c[1m])', '55s', [['{}', NaN]]),
      inst('avg_over_time(metric6[1m])', '55s', [['{}', -Infinity]]),
      inst('avg_over_time(metric6c[1m])', '55s', [['{}', NaN]]),
      inst('avg_over_time(metric7[1m])', '55s', [['{}', NaN]]),
      // the sum overflows, the mean does not
      inst('avg_over_time(metric8[1m])', '55s', [['{}', 9.988465674311579e307]]),
      inst('sum_over_time(metric8[1m])/count_over_time(metric8[1m])', '55s', [['{}', Infinity]]),
      inst('avg_over_time(metric9[1m])', '55s', [['{}', -9.988465674311579e307]]),
      inst('sum_over_time(metric9[1m])/count_over_time(metric9[1m])', '55s', [['{}', -Infinity]]),
      inst('avg_over_time(metric10[1m])', '55s', [['{}', 0]]),
      inst('avg_over_time(metric11[1m])', '20s', [['{}', 2]]),
      inst('avg_over_time(metric11[1m])', '30s', [['{}', NaN]]),
      // Kahan summation keeps the small values next to huge ones
      inst('sum_over_time(bigsmall[2m])', '1m', [['{}', 2]]),
      inst('avg_over_time(bigsmall[2m])', '1m', [['{}', 0.5]]),
      inst('avg_over_time(flat[100s]) - 52', '10m', [['{}', 0]]),
      inst('avg_over_time(flat[130s]) == 52', '10m', [['{}', 52]]),
    ],
  },
  {
    name: 'dense samples, exact window edges',
    interval: '1ms',
    load: 'metric 1+0x4000',
    cases: [
      inst('sum_over_time(metric[1000ms])', '4s', [['{}', 1000]]),
      inst('sum_over_time(metric[1001ms])', '4s', [['{}', 1001]]),
      inst('sum_over_time(metric[2003ms])', '4s', [['{}', 2003]]),
      inst('count_over_time(metric[3000ms])', '4s', [['{}', 3000]]),
    ],
  },
  {
    name: 'stddev, stdvar and mad over time',
    interval: '10s',
    load: `
      metric 0 8 8 2 3
      constant 1.5990505637277868 1.5990505637277868 1.5990505637277868
      madm 4 6 2 1 999 1 2
      metric_odd 1 2 3 4 5
      metric_equal 7 7 7 7 7
      metric_single 5
      metric_nan 1 2 NaN 4`,
    cases: [
      inst('stdvar_over_time(metric[2m])', '1m', [['{}', 10.56]]),
      inst('stddev_over_time(metric[2m])', '1m', [['{}', 3.249615]]),
      inst('stddev_over_time((metric[2m]))', '1m', [['{}', 3.249615]]),
      inst('stdvar_over_time(constant[1m])', '55s', [['{}', 0]]),
      inst('stddev_over_time(constant[1m])', '55s', [['{}', 0]]),
      inst('mad_over_time(madm[70s])', '70s', [['{}', 1]]),
      inst('mad_over_time(metric_odd[50s])', '40s', [['{}', 1]]),
      inst('mad_over_time(metric_equal[50s])', '40s', [['{}', 0]]),
      inst('mad_over_time(metric_single[10s])', '0s', [['{}', 0]]),
      inst('mad_over_time(metric_nan[40s])', '30s', [['{}', NaN]]),
    ],
  },
  {
    name: 'ts_of_*_over_time with an odd scrape interval',
    interval: '10s53ms',
    load: `
      metric 1 2 3 0 5 6 2 1 4
      short 1 2 3 _ _
      late _ _ 1 2 3 _ _`,
    cases: [
      inst('ts_of_min_over_time(metric[90s])', '90s', [['{}', 30.159]]),
      inst('ts_of_max_over_time(metric[90s])', '90s', [['{}', 50.265]]),
      inst('ts_of_last_over_time(short[90s])', '90s', [['{}', 20.106]]),
      inst('ts_of_last_over_time(short[90s])', '95s', [['{}', 20.106]]),
      inst('ts_of_first_over_time(late[90s])', '90s', [['{}', 20.106]]),
      inst('ts_of_first_over_time(late[90s])', '15s', []),
    ],
  },
  {
    name: 'quantile_over_time',
    interval: '10s',
    load: `
      data{test="two samples"} 0 1
      data{test="three samples"} 0 1 2
      data{test="uneven samples"} 0 1 4`,
    cases: [
      inst('quantile_over_time(0, data[2m])', '1m', [['{test="two samples"}', 0], ['{test="three samples"}', 0], ['{test="uneven samples"}', 0]], { noAnnotations: true }),
      inst('quantile_over_time(0.5, data[2m])', '1m', [['{test="two samples"}', 0.5], ['{test="three samples"}', 1], ['{test="uneven samples"}', 1]]),
      inst('quantile_over_time(0.75, data[2m])', '1m', [['{test="two samples"}', 0.75], ['{test="three samples"}', 1.5], ['{test="uneven samples"}', 2.5]]),
      inst('quantile_over_time(0.8, data[2m])', '1m', [['{test="two samples"}', 0.8], ['{test="three samples"}', 1.6], ['{test="uneven samples"}', 2.8]]),
      inst('quantile_over_time(1, data[2m])', '1m', [['{test="two samples"}', 1], ['{test="three samples"}', 2], ['{test="uneven samples"}', 4]]),
      inst('quantile_over_time(-1, data[2m])', '1m', [['{test="two samples"}', -Infinity], ['{test="three samples"}', -Infinity], ['{test="uneven samples"}', -Infinity]], {
        warn: 'PromQL warning: quantile value should be between 0 and 1, got -1 (1:20)',
      }),
      inst('quantile_over_time(2, data[2m])', '1m', [['{test="two samples"}', Infinity], ['{test="three samples"}', Infinity], ['{test="uneven samples"}', Infinity]], { warn: /got 2/ }),
      // no window, no check
      inst('quantile_over_time(2, nonexistent[2m])', '1m', [], { noAnnotations: true }),
      inst('(quantile_over_time(2, (data[2m])))', '1m', [['{test="two samples"}', Infinity], ['{test="three samples"}', Infinity], ['{test="uneven samples"}', Infinity]], { warn: /got 2/ }),
    ],
  },
  {
    name: 'min, max, last, first, count, sum, present over time',
    interval: '10s',
    load: `
      data{type="numbers"} 2 0 3
      data{type="some_nan"} 2 0 NaN
      data{type="some_nan2"} 2 NaN 1
      data{type="some_nan3"} NaN 0 1
      data{type="only_nan"} NaN NaN NaN
      data_sparse{type="sparse_numbers"} _ 5 2 _ 4 _
      data_empty{type="empty_series"} _ _ _ _`,
    cases: [
      // NaN only wins when there is nothing else
      inst('min_over_time(data[2m])', '1m', [['{type="numbers"}', 0], ['{type="some_nan"}', 0], ['{type="some_nan2"}', 1], ['{type="some_nan3"}', 0], ['{type="only_nan"}', NaN]]),
      inst('max_over_time(data[2m])', '1m', [['{type="numbers"}', 3], ['{type="some_nan"}', 2], ['{type="some_nan2"}', 2], ['{type="some_nan3"}', 1], ['{type="only_nan"}', NaN]]),
      inst('min_over_time(data_sparse[2m])', '1m', [['{type="sparse_numbers"}', 2]]),
      inst('max_over_time(data_sparse[2m])', '1m', [['{type="sparse_numbers"}', 5]]),
      // last_over_time and first_over_time keep the metric name
      inst('last_over_time({__name__=~"data(_sparse|_empty)?"}[2m])', '1m', [
        ['data{type="numbers"}', 3],
        ['data{type="some_nan"}', NaN],
        ['data{type="some_nan2"}', 1],
        ['data{type="some_nan3"}', 1],
        ['data{type="only_nan"}', NaN],
        ['data_sparse{type="sparse_numbers"}', 4],
      ]),
      inst('first_over_time({__name__=~"data(_sparse|_empty)?"}[2m])', '1m', [
        ['data{type="numbers"}', 2],
        ['data{type="some_nan"}', 2],
        ['data{type="some_nan2"}', 2],
        ['data{type="some_nan3"}', NaN],
        ['data{type="only_nan"}', NaN],
        ['data_sparse{type="sparse_numbers"}', 5],
      ]),
      inst('count_over_time({__name__=~"data(_sparse|_empty)?"}[2m])', '1m', [
        ['{type="numbers"}', 3],
        ['{type="some_nan"}', 3],
        ['{type="some_nan2"}', 3],
        ['{type="some_nan3"}', 3],
        ['{type="only_nan"}', 3],
        ['{type="sparse_numbers"}', 3],
      ]),
      inst('sum_over_time(data{type="numbers"}[2m])', '1m', [['{type="numbers"}', 5]]),
      inst('present_over_time(data_sparse[2m])', '1m', [['{type="sparse_numbers"}', 1]]),
    ],
  },
  {
    name: 'date functions',
    interval: '5m',
    load: 'dummy 1',
    cases: [
      inst('year()', 0, [['{}', 1970]]),
      inst('year(vector(1136239445))', 0, [['{}', 2006]]),
      inst('month()', 0, [['{}', 1]]),
      inst('month(vector(1136239445))', 0, [['{}', 1]]),
      inst('day_of_month()', 0, [['{}', 1]]),
      inst('day_of_month(vector(1136239445))', 0, [['{}', 2]]),
      inst('day_of_year()', 0, [['{}', 1]]),
      inst('day_of_year(vector(1136239445))', 0, [['{}', 2]]),
      // 1970-01-01 was a Thursday
      inst('day_of_week()', 0, [['{}', 4]]),
      inst('day_of_week(vector(1136239445))', 0, [['{}', 1]]),
      inst('hour()', 0, [['{}', 0]]),
      inst('hour(vector(1136239445))', 0, [['{}', 22]]),
      inst('minute()', 0, [['{}', 0]]),
      inst('minute(vector(1136239445))', 0, [['{}', 4]]),
      inst('year(vector(1230767999))', 0, [['{}', 2008]]),
      inst('year(vector(1230768000))', 0, [['{}', 2009]]),
      inst('month(vector(1456790399)) + day_of_month(vector(1456790399)) / 100', 0, [['{}', 2.29]]),
      inst('month(vector(1456790400)) + day_of_month(vector(1456790400)) / 100', 0, [['{}', 3.01]]),
      inst('day_of_year(vector(1483191420))', 0, [['{}', 366]]),
      inst('day_of_year(vector(1672493820))', 0, [['{}', 365]]),
      inst('days_in_month(vector(1454284800))', 0, [['{}', 29]]),
      inst('days_in_month(vector(1485907200))', 0, [['{}', 28]]),
      inst('days_in_month(vector(1477958400))', 0, [['{}', 30]]),
      // before the epoch
      inst('year(vector(-1))', 0, [['{}', 1969]]),
      inst('hour(vector(-1))', 0, [['{}', 23]]),
      inst('day_of_week(vector(-86400))', 0, [['{}', 3]]),
      // the date of each sample's value; the metric name goes
      inst('hour(dummy * 3600 * 5)', 0, [['{}', 5]]),
      inst('hour()', '90m', [['{}', 1]]),
      inst('minute()', '90m', [['{}', 30]]),
    ],
  },
  {
    name: 'absent and absent_over_time',
    interval: '1m',
    load: `
      http_requests_total{path="/foo",instance="127.0.0.1",job="httpd"} 1+1x10
      http_requests_total{path="/bar",instance="127.0.0.1",job="httpd"} 1+1x10
      httpd_handshake_failures_total{instance="127.0.0.1",job="node"} 1+1x15
      httpd_log_lines_total{instance="127.0.0.1",job="node"} 1
      ssl_certificate_expiry_seconds{job="ingress"} NaN NaN NaN NaN NaN`,
    cases: [
      inst('absent(nonexistent)', '50m', [['{}', 1]]),
      inst('absent(nonexistent{job="testjob", instance="testinstance", method=~".x"})', '50m', [['{instance="testinstance", job="testjob"}', 1]]),
      // a label matched twice is dropped
      inst('absent(nonexistent{job="testjob",job="testjob2",foo="bar"})', '50m', [['{foo="bar"}', 1]]),
      inst('absent(nonexistent{job="testjob",job=~"testjob2",foo="bar"})', '50m', [['{foo="bar"}', 1]]),
      inst('absent(http_requests_total)', '5m', []),
      inst('absent(sum(http_requests_total))', '5m', []),
      inst('absent(sum(nonexistent{job="testjob", instance="testinstance"}))', '50m', [['{}', 1]]),
      inst('absent(nonexistent > 1)', '50m', [['{}', 1]]),
      inst('absent(a + b)', '50m', [['{}', 1]]),
      inst('absent(rate(nonexistent[5m]))', '50m', [['{}', 1]]),
      inst('absent_over_time(nonexistent_total[5m])', '1m', [['{}', 1]]),
      inst('absent_over_time(nonexistent_total{handler="/foo"}[5m])', '1m', [['{handler="/foo"}', 1]]),
      inst('absent_over_time(nonexistent_total{handler!="/foo"}[5m])', '1m', [['{}', 1]]),
      inst('absent_over_time(nonexistent_total{handler="/foo", handler="/bar", instance="127.0.0.1"}[5m])', '1m', [['{instance="127.0.0.1"}', 1]]),
      inst('absent_over_time(rate(nonexistent[5m])[5m:])', '1m', [['{}', 1]]),
      inst('absent_over_time(http_requests_total[5m])', '5m', []),
      inst('absent_over_time(rate(http_requests_total[5m])[5m:1m])', '5m', []),
      inst('absent_over_time(httpd_log_lines_total[30s])', '0m', []),
      inst('absent_over_time(httpd_log_lines_total[30s])', '1m', [['{}', 1]]),
      inst('absent_over_time(http_requests_total[5m])', '15m', [['{}', 1]]),
      inst('absent_over_time(http_requests_total[10m])', '15m', []),
      inst('absent_over_time(http_requests_total[6m])', '16m', [['{}', 1]]),
      inst('absent_over_time(httpd_handshake_failures_total[1m])', '16m', [['{}', 1]]),
      inst('absent_over_time(httpd_handshake_failures_total[2m])', '16m', []),
      inst('absent_over_time({instance="127.0.0.1"}[5m])', '16m', []),
      inst('absent_over_time({instance="127.0.0.1"}[5m])', '21m', [['{instance="127.0.0.1"}', 1]]),
      inst('absent_over_time({job="grok"}[20m])', '21m', [['{job="grok"}', 1]]),
      // a subquery gives no labels to copy
      inst('absent_over_time({instance="127.0.0.1"}[5m:5s])', '30m', [['{}', 1]]),
      // NaN samples are samples
      inst('absent_over_time({job="ingress"}[4m])', '5m', []),
      inst('absent_over_time({job="ingress"}[4m])', '10m', [['{job="ingress"}', 1]]),
      rng('absent_over_time(httpd_log_lines_total[2m])', 0, '4m', '1m', [['{}', '_ _ 1 1 1']]),
      inst('present_over_time(http_requests_total[5m])', '5m', [
        ['{instance="127.0.0.1", job="httpd", path="/bar"}', 1],
        ['{instance="127.0.0.1", job="httpd", path="/foo"}', 1],
      ]),
      inst('present_over_time(rate(http_requests_total[5m])[5m:1m])', '5m', [
        ['{instance="127.0.0.1", job="httpd", path="/bar"}', 1],
        ['{instance="127.0.0.1", job="httpd", path="/foo"}', 1],
      ]),
      inst('present_over_time(httpd_log_lines_total[30s])', '0m', [['{instance="127.0.0.1",job="node"}', 1]]),
      inst('present_over_time(httpd_log_lines_total[30s])', '1m', []),
      inst('present_over_time({instance="127.0.0.1"}[5m])', '16m', [['{instance="127.0.0.1",job="node"}', 1]]),
      inst('present_over_time({job="ingress"}[4m])', '5m', [['{job="ingress"}', 1]]),
    ],
  },
  {
    name: 'scalar',
    interval: '1m',
    load: `
      metric{type="float", l="x"} 1
      metric{type="float", l="y"} 2`,
    cases: [
      inst('scalar(metric)', 0, NaN),
      inst('scalar({l="x"})', 0, 1),
      inst('scalar(nonexistent)', 0, NaN),
      inst('scalar(metric{l="y"}) * 2', 0, 4),
    ],
  },
  {
    name: 'step, range, start, end',
    interval: '1s',
    load: `
      metric 1 2 3 4 5
      metric_for_at 1 2 3 4 5 6 7 8 9 10`,
    cases: [
      rng('step()', 0, '10s', '5s', [['{}', '5 5 5']]),
      rng('range()', 0, '30s', '10s', [['{}', '30 30 30 30']]),
      rng('range()', '10s', '50s', '10s', [['{}', '40 40 40 40 40']]),
      inst('step()', 0, 0),
      inst('range()', '100s', 0),
      rng('vector(step())', 0, '10s', '5s', [['{}', '5 5 5']]),
      rng('metric * step()', 0, '4s', '1s', [['{}', '1 2 3 4 5']]),
      rng('metric + range()', 0, '2s', '1s', [['{}', '3 4 5']]),
      rng('start()', '100s', '130s', '10s', [['{}', '100 100 100 100']]),
      rng('end()', '100s', '140s', '10s', [['{}', '140 140 140 140 140']]),
      inst('start()', '100s', 100),
      inst('end()', '50s', 50),
      rng('end() - start()', '10s', '20s', '5s', [['{}', '10 10 10']]),
      rng('(end() + start()) / 2', 0, '30s', '10s', [['{}', '15 15 15 15']]),
      rng('metric_for_at @ start()', 0, '9s', '3s', [['metric_for_at', '1 1 1 1']]),
      rng('metric_for_at @ end()', '1s', '9s', '2s', [['metric_for_at', '10 10 10 10 10']]),
    ],
  },
  {
    name: 'histogram_quantile over classic buckets',
    interval: '5m',
    load: `
      testhistogram_bucket{le="0.1", start="positive"} 0+5x10
      testhistogram_bucket{le=".2", start="positive"} 0+7x10
      testhistogram_bucket{le="1e0", start="positive"} 0+11x10
      testhistogram_bucket{le="+Inf", start="positive"} 0+12x10
      testhistogram_bucket{le="-.2", start="negative"} 0+1x10
      testhistogram_bucket{le="-0.1", start="negative"} 0+2x10
      testhistogram_bucket{le="0.3", start="negative"} 0+2x10
      testhistogram_bucket{le="+Inf", start="negative"} 0+3x10
      testhistogram2_bucket{le="0"} 0+0x10
      testhistogram2_bucket{le="2"} 0+1x10
      testhistogram2_bucket{le="4"} 0+2x10
      testhistogram2_bucket{le="6"} 0+3x10
      testhistogram2_bucket{le="+Inf"} 0+3x10
      testhistogram3_bucket{le="0", start="positive"} 0+0x10
      testhistogram3_bucket{le="0.1", start="positive"} 0+5x10
      testhistogram3_bucket{le=".2", start="positive"} 0+7x10
      testhistogram3_bucket{le="1e0", start="positive"} 0+11x10
      testhistogram3_bucket{le="+Inf", start="positive"} 0+11x10
      testhistogram3_count{start="positive"} 0+11x10
      testhistogram3_bucket{le="-.25", start="negative"} 0+0x10
      testhistogram3_bucket{le="-.2", start="negative"} 0+1x10
      testhistogram3_bucket{le="-0.1", start="negative"} 0+2x10
      testhistogram3_bucket{le="0.3", start="negative"} 0+2x10
      testhistogram3_bucket{le="+Inf", start="negative"} 0+2x10
      request_duration_seconds_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
      request_duration_seconds_bucket{job="job1", instance="ins1", le="0.2"} 0+3x10
      request_duration_seconds_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
      request_duration_seconds_bucket{job="job1", instance="ins2", le="0.1"} 0+2x10
      request_duration_seconds_bucket{job="job1", instance="ins2", le="0.2"} 0+5x10
      request_duration_seconds_bucket{job="job1", instance="ins2", le="+Inf"} 0+6x10
      request_duration_seconds_bucket{job="job2", instance="ins1", le="0.1"} 0+3x10
      request_duration_seconds_bucket{job="job2", instance="ins1", le="0.2"} 0+4x10
      request_duration_seconds_bucket{job="job2", instance="ins1", le="+Inf"} 0+6x10
      request_duration_seconds_bucket{job="job2", instance="ins2", le="0.1"} 0+4x10
      request_duration_seconds_bucket{job="job2", instance="ins2", le="0.2"} 0+7x10
      request_duration_seconds_bucket{job="job2", instance="ins2", le="+Inf"} 0+9x10
      request_duration_seconds2_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
      request_duration_seconds2_bucket{job="job1", instance="ins1", le="0.2"} 0+3x10
      request_duration_seconds2_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
      mixed_bucket{job="job1", instance="ins1", le="0.1"} 0+1x10
      mixed_bucket{job="job1", instance="ins1", le="0.2"} 0+1x10
      mixed_bucket{job="job1", instance="ins1", le="2e-1"} 0+1x10
      mixed_bucket{job="job1", instance="ins1", le="2.0e-1"} 0+1x10
      mixed_bucket{job="job1", instance="ins1", le="+Inf"} 0+4x10
      mixed_bucket{job="job1", instance="ins2", le="+inf"} 0+0x10
      mixed_bucket{job="job1", instance="ins2", le="+Inf"} 0+0x10
      nonmonotonic_bucket{le="0.1"} 0+2x10
      nonmonotonic_bucket{le="1"} 0+1x10
      nonmonotonic_bucket{le="10"} 0+5x10
      nonmonotonic_bucket{le="100"} 0+4x10
      nonmonotonic_bucket{le="1000"} 0+9x10
      nonmonotonic_bucket{le="+Inf"} 0+8x10
      empty_bucket{le="0.1", job="job1", instance="ins1"} 0x10
      empty_bucket{le="0.2", job="job1", instance="ins1"} 0x10
      empty_bucket{le="+Inf", job="job1", instance="ins1"} 0x10
      no_inf_bucket{le="0.1"} 0+1x10
      no_inf_bucket{le="1"} 0+2x10
      bad_bucket{le="foo"} 1`,
    cases: [
      // the lowest bucket: 0 for positive bounds, else the bound itself
      inst('histogram_quantile(0, testhistogram_bucket)', '50m', [['{start="positive"}', 0], ['{start="negative"}', -0.2]], { noAnnotations: true }),
      inst('histogram_quantile(0, testhistogram3_bucket)', '50m', [['{start="positive"}', 0], ['{start="negative"}', -0.25]]),
      inst('histogram_quantile(0.25, testhistogram3_bucket)', '50m', [['{start="positive"}', 0.055], ['{start="negative"}', -0.225]]),
      inst('histogram_quantile(0.5, testhistogram3_bucket)', '50m', [['{start="positive"}', 0.125], ['{start="negative"}', -0.2]]),
      inst('histogram_quantile(0.75, testhistogram3_bucket)', '50m', [['{start="positive"}', 0.45], ['{start="negative"}', -0.15]]),
      inst('histogram_quantile(1, testhistogram3_bucket)', '50m', [['{start="positive"}', 1], ['{start="negative"}', -0.1]]),
      // in the +Inf bucket: the second highest bound
      inst('histogram_quantile(1, testhistogram_bucket)', '50m', [['{start="positive"}', 1], ['{start="negative"}', 0.3]]),
      inst('histogram_quantile(0.2, testhistogram_bucket)', '50m', [['{start="positive"}', 0.048], ['{start="negative"}', -0.2]]),
      inst('histogram_quantile(0.5, testhistogram_bucket)', '50m', [['{start="positive"}', 0.15], ['{start="negative"}', -0.15]]),
      inst('histogram_quantile(0.8, testhistogram_bucket)', '50m', [['{start="positive"}', 0.72], ['{start="negative"}', 0.3]]),
      inst('histogram_quantile(0.8, rate(testhistogram_bucket[10m]))', '50m', [['{start="positive"}', 0.72], ['{start="negative"}', 0.3]]),
      inst('histogram_quantile(-0.1, testhistogram_bucket)', '50m', [['{start="positive"}', -Infinity], ['{start="negative"}', -Infinity]], { warn: 'PromQL warning: quantile value should be between 0 and 1, got -0.1 (1:20)' }),
      inst('histogram_quantile(1.01, testhistogram_bucket)', '50m', [['{start="positive"}', Infinity], ['{start="negative"}', Infinity]], { warn: /got 1.01/ }),
      inst('histogram_quantile(NaN, testhistogram_bucket)', '50m', [['{start="positive"}', NaN], ['{start="negative"}', NaN]], { warn: /got NaN/ }),
      inst('histogram_quantile(NaN, non_existent)', '50m', [], { warn: /got NaN \(1:20\)/ }),
      // results exactly in the middle of a bucket
      inst('histogram_quantile(1./6., testhistogram2_bucket)', '7m', [['{}', 1]]),
      inst('histogram_quantile(0.5, testhistogram2_bucket)', '7m', [['{}', 3]]),
      inst('histogram_quantile(5./6., testhistogram2_bucket)', '7m', [['{}', 5]]),
      inst('histogram_quantile(0.5, rate(testhistogram2_bucket[15m]))', '47m', [['{}', 3]]),
      // aggregated by le and other labels
      inst('histogram_quantile(0.3, sum(rate(request_duration_seconds_bucket[10m])) by (le))', '50m', [['{}', 0.075]]),
      inst('histogram_quantile(0.5, sum(rate(request_duration_seconds_bucket[10m])) by (le))', '50m', [['{}', 0.1277777777777778]]),
      inst('histogram_quantile(0.5, avg(rate(request_duration_seconds_bucket[10m])) by (le))', '50m', [['{}', 0.12777777777777778]]),
      inst('histogram_quantile(0.5, sum(rate(request_duration_seconds_bucket[10m])) by (le, instance))', '50m', [['{instance="ins1"}', 0.1333333333], ['{instance="ins2"}', 0.125]]),
      inst('histogram_quantile(0.3, sum(rate(request_duration_seconds_bucket[10m])) by (le, job))', '50m', [['{job="job1"}', 0.1], ['{job="job2"}', 0.0642857142857143]]),
      inst('histogram_quantile(0.5, sum(rate(request_duration_seconds_bucket[10m])) by (le, job))', '50m', [['{job="job1"}', 0.14], ['{job="job2"}', 0.1125]]),
      inst('histogram_quantile(0.3, rate(request_duration_seconds_bucket[10m]))', '50m', [
        ['{instance="ins1", job="job1"}', 0.11],
        ['{instance="ins2", job="job1"}', 0.09],
        ['{instance="ins1", job="job2"}', 0.06],
        ['{instance="ins2", job="job2"}', 0.0675],
      ]),
      // the bucket and the count of a classic histogram divide as usual
      inst('testhistogram3_bucket{le=".2"} / ignoring(le) testhistogram3_count', '50m', [['{start="positive"}', 0.6363636363636364]]),
      // decreasing buckets are flattened and reported
      inst('histogram_quantile(0.01, nonmonotonic_bucket)', '50m', [['{}', 0.0045]], { info: /needed to be fixed for monotonicity/ }),
      inst('histogram_quantile(0.5, nonmonotonic_bucket)', '50m', [['{}', 8.5]], {
        info: /input to histogram_quantile needed to be fixed for monotonicity \(see https:\/\/prometheus.io\/docs\/prometheus\/latest\/querying\/functions\/#histogram_quantile\), from buckets 1 to \+Inf, with a max diff of 10, over 1 samples from 1970-01-01T00:50:00Z to 1970-01-01T00:50:00Z \(1:25\)/,
      }),
      inst('histogram_quantile(0.99, nonmonotonic_bucket)', '50m', [['{}', 979.75]]),
      // equal bounds written differently are one bucket
      inst('histogram_quantile(0.5, rate(mixed_bucket[10m]))', '50m', [['{instance="ins1", job="job1"}', 0.15], ['{instance="ins2", job="job1"}', NaN]]),
      inst('histogram_quantile(0.75, rate(mixed_bucket[10m]))', '50m', [['{instance="ins1", job="job1"}', 0.2], ['{instance="ins2", job="job1"}', NaN]]),
      inst('histogram_quantile(1, rate(mixed_bucket[10m]))', '50m', [['{instance="ins1", job="job1"}', 0.2], ['{instance="ins2", job="job1"}', NaN]]),
      inst('histogram_quantile(0.2, rate(empty_bucket[10m]))', '50m', [['{instance="ins1", job="job1"}', NaN]]),
      inst('histogram_quantile(0.5, no_inf_bucket)', '50m', [['{}', NaN]]),
      inst('histogram_quantile(0.5, bad_bucket)', '0m', [], { warn: 'PromQL warning: bucket label "le" is missing or has a malformed value of "foo" (1:25)' }),
      // two histograms that differ only by name collide in the output
      fails('histogram_quantile(0.99, {__name__=~"request_duration_seconds\\\\d*_bucket"})', '50m', 'vector cannot contain metrics with the same labelset'),
      inst('histogram_quantiles(testhistogram3_bucket, "q", 0, 0.25, 0.5, 0.75, 1)', '50m', [
        ['{q="0.0", start="positive"}', 0],
        ['{q="0.0", start="negative"}', -0.25],
        ['{q="0.25", start="positive"}', 0.055],
        ['{q="0.25", start="negative"}', -0.225],
        ['{q="0.5", start="positive"}', 0.125],
        ['{q="0.5", start="negative"}', -0.2],
        ['{q="0.75", start="positive"}', 0.45],
        ['{q="0.75", start="negative"}', -0.15],
        ['{q="1.0", start="positive"}', 1],
        ['{q="1.0", start="negative"}', -0.1],
      ]),
      fails('histogram_quantiles(testhistogram3_bucket, "start", 0, 0.25)', '50m', 'vector cannot contain metrics with the same labelset'),
      inst('histogram_quantiles(nonmonotonic_bucket, "q", 0.01, 0.5, 0.99)', '50m', [['{q="0.01"}', 0.0045], ['{q="0.5"}', 8.5], ['{q="0.99"}', 979.75]], { info: /monotonicity .* \(1:21\)/ }),
    ],
  },
  {
    name: 'histogram_fraction over classic buckets',
    interval: '5m',
    load: `
      testhistogram2_bucket{le="0"} 0+0x10
      testhistogram2_bucket{le="2"} 0+1x10
      testhistogram2_bucket{le="4"} 0+2x10
      testhistogram2_bucket{le="6"} 0+3x10
      testhistogram2_bucket{le="+Inf"} 0+3x10
      testhistogram3_bucket{le="0", start="positive"} 0+0x10
      testhistogram3_bucket{le="0.1", start="positive"} 0+5x10
      testhistogram3_bucket{le=".2", start="positive"} 0+7x10
      testhistogram3_bucket{le="1e0", start="positive"} 0+11x10
      testhistogram3_bucket{le="+Inf", start="positive"} 0+11x10
      testhistogram3_bucket{le="-.25", start="negative"} 0+0x10
      testhistogram3_bucket{le="-.2", start="negative"} 0+1x10
      testhistogram3_bucket{le="-0.1", start="negative"} 0+2x10
      testhistogram3_bucket{le="0.3", start="negative"} 0+2x10
      testhistogram3_bucket{le="+Inf", start="negative"} 0+2x10
      pos_bucket{le="1"} 1+0x10
      pos_bucket{le="2"} 3+0x10
      pos_bucket{le="3"} 6+0x10
      pos_bucket{le="+Inf"} 100+0x10
      neg_bucket{le="-3"} 10+0x10
      neg_bucket{le="-2"} 12+0x10
      neg_bucket{le="-1"} 15+0x10
      neg_bucket{le="+Inf"} 100+0x10
      frac_bucket{le="0.5"} 2.5+0x10
      frac_bucket{le="1"} 7.5+0x10
      frac_bucket{le="+Inf"} 100+0x10
      zero_bucket{le="-2"} 5+0x10
      zero_bucket{le="-1"} 10+0x10
      zero_bucket{le="0"} 15+0x10
      zero_bucket{le="1"} 20+0x10
      zero_bucket{le="+Inf"} 100+0x10
      single_bucket{le="+Inf"} 100+0x10
      all_zero_bucket{le="1"} 0+0x10
      all_zero_bucket{le="+Inf"} 0+0x10`,
    cases: [
      inst('histogram_fraction(0, 4, testhistogram2_bucket)', '50m', [['{}', 0.6666666666666666]]),
      inst('histogram_fraction(0, 6, testhistogram2_bucket)', '50m', [['{}', 1]]),
      inst('histogram_fraction(0, 3.5, testhistogram2_bucket)', '50m', [['{}', 0.5833333333333334]]),
      inst('histogram_fraction(0, 0.2, testhistogram3_bucket)', '50m', [['{start="positive"}', 0.6363636363636364], ['{start="negative"}', 0]]),
      inst('histogram_fraction(0, 0.2, rate(testhistogram3_bucket[10m]))', '50m', [['{start="positive"}', 0.6363636363636364], ['{start="negative"}', 0]]),
      // [0,1] fully, half of (1,2]
      inst('histogram_fraction(0, 1.5, pos_bucket)', '50m', [['{}', 0.02]]),
      // the (-Inf,-3] bucket cannot be interpolated
      inst('histogram_fraction(-4, -2, neg_bucket)', '50m', [['{}', 0.02]]),
      inst('histogram_fraction(-Inf, -1.5, neg_bucket)', '50m', [['{}', 0.135]]),
      inst('histogram_fraction(-Inf, +Inf, pos_bucket)', '50m', [['{}', 1]]),
      inst('histogram_fraction(-Inf, +Inf, neg_bucket)', '50m', [['{}', 1]]),
      inst('histogram_fraction(4, 5, pos_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(0, 1, neg_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(2, 5, pos_bucket)', '50m', [['{}', 0.03]]),
      inst('histogram_fraction(400, +Inf, pos_bucket)', '50m', [['{}', 0.94]]),
      inst('histogram_fraction(2, 2, pos_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(3, 2, pos_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(0, 1, single_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(0, 5, all_zero_bucket)', '50m', [['{}', NaN]]),
      inst('histogram_fraction(2, 3.5, pos_bucket)', '50m', [['{}', 0.03]]),
      inst('histogram_fraction(0.5, 2, pos_bucket)', '50m', [['{}', 0.025]]),
      inst('histogram_fraction(1, 3, pos_bucket)', '50m', [['{}', 0.05]]),
      inst('histogram_fraction(0.1, 0.75, frac_bucket)', '50m', [['{}', 0.045]]),
      inst('histogram_fraction(-1, 1, zero_bucket)', '50m', [['{}', 0.1]]),
      inst('histogram_fraction(NaN, 1, pos_bucket)', '50m', [['{}', NaN]]),
      inst('histogram_fraction(0, NaN, pos_bucket)', '50m', [['{}', NaN]]),
      inst('histogram_fraction(-10, -5, pos_bucket)', '50m', [['{}', 0]]),
      inst('histogram_fraction(5, 10, pos_bucket)', '50m', [['{}', 0]]),
    ],
  },
  {
    name: 'native-histogram functions ignore float samples',
    interval: '5m',
    load: 'floats 1 2 3',
    cases: [
      inst('histogram_count(floats)', '10m', []),
      inst('histogram_sum(floats)', '10m', []),
      inst('histogram_avg(floats)', '10m', []),
      inst('histogram_stddev(floats)', '10m', []),
      inst('histogram_stdvar(floats)', '10m', []),
    ],
  },
  {
    name: 'unsupported functions fail clearly',
    interval: '5m',
    load: 'up 1',
    cases: [
      fails('info(up)', 0, 'function "info" is not supported by this engine', 'bad_data'),
      fails('start_timestamp(up)', 0, /start_timestamp/, 'bad_data'),
    ],
  },
];

for (const b of blocks) {
  describe(`functions: ${b.name}`, () => {
    const h = harness(load(b.interval ?? '5m', b.load ?? ''), b.engine);
    for (const c of b.cases) it(caseName(c), () => runCase(h, c));
  });
}
