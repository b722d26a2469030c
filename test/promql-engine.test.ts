// The engine: selectors and matchers, lookback and staleness, offset and @,
// subqueries, range queries, literals and result types, limits, timeouts and
// cancellation, and the seams (select requests with hints, pushdown).
// Expectations follow the Prometheus documentation and the semantics of
// Prometheus's selectors/staleness/at_modifier/subquery/range_queries/literals
// test files, re-expressed here; Prometheus 3.x defaults (no delayed name
// removal, 5m lookback, 1m default subquery step).
import { describe, expect, it } from 'vitest';
import { harness, inst, load, rng, fails, runCase, caseName, asMatrix, expectMatrix, pts, type Block } from './helpers/promql.ts';
import { createEngine, createMemorySource, isPromqlError, labelsToString, type PushdownRequest, type SeriesSource } from '../query/promql/index.ts';

const blocks: Block[] = [
  {
    name: 'selectors and matchers',
    interval: '10s',
    load: `
      http_requests_total{job="api-server", instance="0", group="production"} 0+10x1000 100+30x1000
      http_requests_total{job="api-server", instance="1", group="production"} 0+20x1000 200+30x1000
      http_requests_total{job="api-server", instance="0", group="canary"} 0+30x1000 300+80x1000
      http_requests_total{job="api-server", instance="1", group="canary"} 0+40x2000
      metric_nl{text="a\\nb"} 1
      colon:metric:name{a="b"} 2`,
    cases: [
      inst('rate(http_requests_total[1m])', '8000s', [
        ['{job="api-server", instance="0", group="production"}', 1],
        ['{job="api-server", instance="1", group="production"}', 2],
        ['{job="api-server", instance="0", group="canary"}', 3],
        ['{job="api-server", instance="1", group="canary"}', 4],
      ]),
      inst('rate(http_requests_total[1m])', '18000s', [
        ['{job="api-server", instance="0", group="production"}', 3],
        ['{job="api-server", instance="1", group="production"}', 3],
        ['{job="api-server", instance="0", group="canary"}', 8],
        ['{job="api-server", instance="1", group="canary"}', 4],
      ]),
      inst('rate(http_requests_total{group=~"pro.*"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*ry", instance="1"}[1m])', '18000s', [['{job="api-server", instance="1", group="canary"}', 4]]),
      inst('rate(http_requests_total{instance!="3"}[1m] offset 10000s)', '18000s', [
        ['{job="api-server", instance="0", group="production"}', 1],
        ['{job="api-server", instance="1", group="production"}', 2],
        ['{job="api-server", instance="0", group="canary"}', 3],
        ['{job="api-server", instance="1", group="canary"}', 4],
      ]),
      // a negative offset looks into the future
      inst('rate(http_requests_total{instance!="3"}[1m] offset -4000s)', '4000s', [
        ['{job="api-server", instance="0", group="production"}', 1],
        ['{job="api-server", instance="1", group="production"}', 2],
        ['{job="api-server", instance="0", group="canary"}', 3],
        ['{job="api-server", instance="1", group="canary"}', 4],
      ]),
      inst('rate(http_requests_total[40s]) - rate(http_requests_total[1m] offset 10000s)', '18000s', [
        ['{job="api-server", instance="0", group="production"}', 2],
        ['{job="api-server", instance="1", group="production"}', 1],
        ['{job="api-server", instance="0", group="canary"}', 5],
        ['{job="api-server", instance="1", group="canary"}', 0],
      ]),
      // != and !~ match series without the label
      inst('http_requests_total{foo!="bar"}', 0, [
        ['http_requests_total{job="api-server", instance="0", group="production"}', 0],
        ['http_requests_total{job="api-server", instance="1", group="production"}', 0],
        ['http_requests_total{job="api-server", instance="0", group="canary"}', 0],
        ['http_requests_total{job="api-server", instance="1", group="canary"}', 0],
      ]),
      inst('http_requests_total{foo!~"bar", job="api-server", instance="1", x!="y", z="", group!=""}', 0, [
        ['http_requests_total{job="api-server", instance="1", group="production"}', 0],
        ['http_requests_total{job="api-server", instance="1", group="canary"}', 0],
      ]),
      // RE2 syntax: case-insensitive groups, lazy quantifiers, anchoring
      inst('rate(http_requests_total{group=~"(?i:PRO).*"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*?(?i:PRO).*"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*(?i:DUC).*"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*(?i:TION)"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~"((?i)PRO).*"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*((?i)TION)"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~"(?i:PRODUCTION)"}[1m])', '8000s', [['{job="api-server", instance="0", group="production"}', 1], ['{job="api-server", instance="1", group="production"}', 2]]),
      inst('rate(http_requests_total{group=~".*(?i:C).*"}[1m])', '8000s', [
        ['{job="api-server", instance="0", group="production"}', 1],
        ['{job="api-server", instance="1", group="production"}', 2],
        ['{job="api-server", instance="0", group="canary"}', 3],
        ['{job="api-server", instance="1", group="canary"}', 4],
      ]),
      // regexes are anchored
      inst('count(http_requests_total{group=~"anar"})', 0, []),
      inst('count(http_requests_total{group=~"canary|prod"})', 0, [['{}', 2]]),
      // "." matches a newline, as Prometheus compiles (?s:...)
      inst('metric_nl{text=~"a.b"}', 0, [['metric_nl{text="a\\nb"}', 1]]),
      inst('colon:metric:name', 0, [['colon:metric:name{a="b"}', 2]]),
      inst('{__name__=~"colon:.*"}', 0, [['colon:metric:name{a="b"}', 2]]),
      inst('{"colon:metric:name"}', 0, [['colon:metric:name{a="b"}', 2]]),
    ],
  },
  {
    name: 'offsets on both sides of an or',
    interval: '1m',
    load: `
      metric1{a="a"} 0+1x100
      metric2{b="b"} 0+1x50`,
    cases: [inst('metric1 offset 15m or metric2 offset 45m', '90m', [['metric1{a="a"}', 75], ['metric2{b="b"}', 45]])],
  },
  {
    name: 'staleness markers and the lookback delta',
    interval: '10s',
    load: `
      metric 0 1 stale 2
      single_point{a="1"} 0`,
    cases: [
      inst('metric', '10s', [['metric', 1]]),
      // the latest sample is a staleness marker: no value, no fallback to older samples
      inst('metric', '20s', []),
      inst('metric', '30s', [['metric', 2]]),
      inst('metric', '40s', [['metric', 2]]),
      // 5m after the last sample the series is gone; exactly 5m is already gone
      inst('metric', '329s', [['metric', 2]]),
      inst('metric', '330s', []),
      // range selectors skip staleness markers
      inst('count_over_time(metric[1m])', '30s', [['{}', 3]]),
      inst('count_over_time(metric[1s])', '10s', [['{}', 1]]),
      inst('count_over_time(metric[1s])', '20s', []),
      inst('count_over_time(metric[10s])', '20s', []),
      inst('count_over_time(metric[20s])', '20s', [['{}', 1]]),
      inst('count_over_time(metric[20])', '20s', [['{}', 1]]),
      inst('single_point', 0, [['single_point{a="1"}', 0]]),
      inst('single_point', '299s', [['single_point{a="1"}', 0]]),
      inst('single_point', '300s', []),
      rng('metric', 0, '40s', '10s', [['metric', '0 1 _ 2 2']]),
      // the raw samples of a range vector leave the marker out
      inst('timestamp(metric)', '25s', []),
    ],
  },
  {
    name: 'a shorter lookback delta',
    interval: '10s',
    load: 'metric 0 1 _ _ 4',
    engine: { lookbackDeltaMs: 15_000 },
    cases: [inst('metric', '25s', []), inst('metric', '24s', [['metric', 1]]), rng('metric', 0, '40s', '5s', [['metric', '0 0 1 1 1 _ _ _ 4']])],
  },
  {
    name: '@ modifier',
    interval: '10s',
    load: `
      metric{job="1"} 0+1x1000
      metric{job="2"} 0+2x1000
      short 0+1x10
      metric_missing 0 _ 2 _ 4 _ 5 _ 6`,
    cases: [
      inst('metric @ 100', '10s', [['metric{job="1"}', 10], ['metric{job="2"}', 20]]),
      inst('metric @ 100s', '10s', [['metric{job="1"}', 10], ['metric{job="2"}', 20]]),
      inst('metric @ 1m40s', '10s', [['metric{job="1"}', 10], ['metric{job="2"}', 20]]),
      inst('metric @ 100 offset 50s', '10s', [['metric{job="1"}', 5], ['metric{job="2"}', 10]]),
      inst('metric offset 50 @ 100', '10s', [['metric{job="1"}', 5], ['metric{job="2"}', 10]]),
      inst('metric @ 0 offset -50s', '10s', [['metric{job="1"}', 5], ['metric{job="2"}', 10]]),
      inst('metric offset -50 @ 0', '10s', [['metric{job="1"}', 5], ['metric{job="2"}', 10]]),
      inst('-metric @ 100', '10s', [['{job="1"}', -10], ['{job="2"}', -20]]),
      inst('---metric @ 100', '10s', [['{job="1"}', -10], ['{job="2"}', -20]]),
      inst('sum_over_time(metric{job="1"}[100s] @ 100)', '25s', [['{job="1"}', 55]]),
      inst('sum_over_time(metric{job="1"}[100s] @ 100 offset 50s)', '25s', [['{job="1"}', 15]]),
      inst('sum_over_time(metric{job="1"}[100] offset 50s @ 100)', '25s', [['{job="1"}', 15]]),
      inst('metric{job="1"} @ 50 + metric{job="1"} @ 100', '25s', [['{job="1"}', 15]]),
      inst('rate(metric{job="1"}[100s] @ 100) + label_replace(rate(metric{job="2"}[123s] @ 200), "job", "1", "", "")', '25s', [['{job="1"}', 0.3]]),
      inst('sum_over_time(metric{job="1"}[100s] @ 100) + label_replace(sum_over_time(metric{job="2"}[100s] @ 100), "job", "1", "", "")', '25s', [['{job="1"}', 165]]),
      // 10*(1+...+9) + 10
      inst('sum_over_time(metric{job="1"}[100s:1s] @ 100)', '25s', [['{job="1"}', 460]]),
      // 10*(1+...+7) + 8
      inst('sum_over_time(metric{job="1"}[100s:1s] @ 100 offset 20s)', '25s', [['{job="1"}', 288]]),
      inst('sum_over_time(metric{job="1"}[100:1] offset 20 @ 100)', '25s', [['{job="1"}', 288]]),
      // the inner @ fixes the value; the subquery repeats it 4 times
      inst('sum_over_time(sum_over_time(metric{job="1"}[100s] @ 100)[100s:25s] @ 50)', '100s', [['{job="1"}', 220]]),
      inst('sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[100s] @ 100)[100s:25s] @ 50)[3s:1s] @ 3000)', 0, [['{job="1"}', 660]]),
      inst('sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[10s])[100s:25s] @ 50)[3s:1s] @ 200)', 0, [['{job="1"}', 21]]),
      inst('sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[10s])[100s:25s] @ 200)[3s:1s] @ 50)', 0, [['{job="1"}', 192]]),
      inst('sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[20s])[20s:10s] offset 10s)[100s:25s] @ 1000)', 0, [['{job="1"}', 1504]]),
      inst('minute(metric @ 1500)', '10s', [['{job="1"}', 2], ['{job="2"}', 5]]),
      inst('timestamp(metric{job="1"} @ 10)', '10m', [['{job="1"}', 10]]),
      inst('timestamp(timestamp(metric{job="1"} @ 10))', '10m', [['{job="1"}', 600]]),
      inst('timestamp(timestamp(metric{job="1"} @ 10))', '15m', [['{job="1"}', 900]]),
      inst('sum_over_time(minute(metric @ 1500)[100s:10s])', 0, [['{job="1"}', 20], ['{job="2"}', 50]]),
      // time functions inside a subquery run at the subquery's steps
      inst('sum_over_time(minute()[50m:1m] @ 6000)', 0, [['{}', 1315]]),
      inst('sum_over_time(minute()[50m:1m] @ 6000 offset 5m)', 0, [['{}', 1365]]),
      inst('sum_over_time(vector(time())[100s:1s] @ 3000)', 0, [['{}', 295050]]),
      inst('sum_over_time(vector(time())[100s:1s] @ 3000 offset 600s)', 0, [['{}', 235050]]),
      inst('sum_over_time(timestamp(metric{job="1"} @ 10)[100s:10s] @ 3000)', 0, [['{job="1"}', 100]]),
      inst('sum_over_time(timestamp(timestamp(metric{job="1"} @ 999))[10s:1s] @ 10)', 0, [['{job="1"}', 55]]),
      rng('short @ 11', 0, '60s', '10s', [['short', '1 1 1 1 1 1 1']]),
      rng('abs(short @ 11)', 0, '60s', '10s', [['{}', '1 1 1 1 1 1 1']]),
      rng('timestamp(short)', 0, '60s', '10s', [['{}', '0 10 20 30 40 50 60']]),
      rng('timestamp(short @ 11)', 0, '60s', '10s', [['{}', '10 10 10 10 10 10 10']]),
      rng('timestamp(short @ 19)', 0, '60s', '10s', [['{}', '10 10 10 10 10 10 10']]),
      rng('timestamp(short @ 20)', 0, '60s', '10s', [['{}', '20 20 20 20 20 20 20']]),
      rng('timestamp(metric_missing @ 10)', 0, '60s', '10s', [['{}', '0 0 0 0 0 0 0']]),
      rng('timestamp(metric_missing @ 20)', 0, '60s', '10s', [['{}', '20 20 20 20 20 20 20']]),
      rng('timestamp(abs(short @ 11))', 0, '60s', '10s', [['{}', '0 10 20 30 40 50 60']]),
      // @ start() and @ end() are the query's own start and end
      rng('short @ start()', '20s', '60s', '20s', [['short', '2 2 2']]),
      rng('short @ end()', '20s', '60s', '20s', [['short', '6 6 6']]),
      inst('short @ end()', '30s', [['short', 3]]),
    ],
  },
  {
    name: 'a range vector with @ inside a function with per-step arguments',
    interval: '30s',
    load: `
      arg 0 0.5 1 0.75
      metric 1 2 3 4 5`,
    cases: [
      rng('quantile_over_time(scalar(arg), metric[2m1s] @ 2m)', 0, '1m30s', '30s', [['{}', '1 3 5 4']]),
      inst('quantile_over_time(scalar(arg), metric[2m1s] @ 2m)', 0, [['{}', 1]]),
      rng('quantile_over_time(scalar(arg), metric[2m1s:30s] @ 2m)', 0, '1m30s', '30s', [['{}', '1 3 5 4']]),
      rng('quantile_over_time(0.5, metric[2m1s:30s] @ 2m)', 0, '1m30s', '30s', [['{}', '3 3 3 3']]),
      rng('quantile_over_time(scalar(arg), metric[2m1s:30s])', 0, '1m30s', '30s', [['{}', '1 1.5 3 3.25']]),
    ],
  },
  {
    name: '@ at a time without data',
    interval: '10s',
    load: 'up 1 2 3',
    cases: [
      inst('quantile_over_time(scalar(up) + 1, {__name__="up"}[1h:1m] @ 1111111)', '1111111s', []),
      inst('predict_linear({__name__="up"}[1h:1m] @ 1111111, 0.1)', '1111111s', []),
      inst('deriv({__name__="up"}[1h:1m] @ 1111111)', '1111111s', []),
      inst('changes({__name__="up"}[1h:1m] @ 1111111)', '1111111s', []),
      inst('last_over_time({__name__="up"}[1h:1m] @ 1111111)', '1111111s', []),
      inst('mad_over_time({__name__="up"}[1h:1m] @ 1111111)', '1111111s', []),
    ],
  },
  {
    name: 'subqueries',
    interval: '10s',
    load: `
      metric_total 1 2
      metric1_total 0+1x1000
      metric2_total 0+2x1000
      metric3_total 0+3x1000`,
    cases: [
      // steps before 0 have no sample
      inst('sum_over_time(metric_total[50s:10s])', '10s', [['{}', 3]]),
      inst('sum_over_time(metric_total[50s:5s])', '10s', [['{}', 4]]),
      inst('sum_over_time(metric_total[50s:10s])', '5m', [['{}', 10]]),
      // stale 5m after the last sample (10s): only 5m10s has a value
      inst('sum_over_time(metric_total[60s:10s])', '5m59s', [['{}', 2]]),
      inst('rate(metric_total[20s:10s])', '10s', [['{}', 0.1]]),
      inst('rate(metric_total[20s:5s])', '20s', [['{}', 0.06666666666666667]]),
      inst('sum_over_time(metric1_total[30s:10s])', '1000s', [['{}', 297]]),
      // 97 + 98*2 + 99*2 + 100: the 5s steps repeat the 10s samples
      inst('sum_over_time(metric1_total[30s:5s])', '1000s', [['{}', 591]]),
      // the steps are aligned to absolute multiples of the step, whatever the offset
      inst('sum_over_time(metric1_total[30s:10s] offset 10s)', '1010s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[30s:10s] offset 9s)', '1010s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[30s:10s] offset 3s)', '1010s', [['{}', 297]]),
      inst('sum_over_time((metric1_total)[30s:10s] offset 3s)', '1010s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[30:10] offset 3)', '1010s', [['{}', 297]]),
      inst('rate(sum_over_time(metric1_total[30s:10s])[50s:10s])', '1000s', [['{}', 0.30000000000000004]]),
      inst('rate(sum_over_time(metric2_total[30s:10s])[50s:10s])', '1000s', [['{}', 0.6000000000000001]]),
      inst('rate(sum_over_time(metric3_total[30s:10s])[50s:10s])', '1000s', [['{}', 0.9]]),
      inst('rate(sum_over_time((metric1_total+metric2_total+metric3_total)[30s:10s])[30s:10s])', '1000s', [['{}', 1.8]]),
      // without a step, the default subquery step (1m) is used
      inst('count_over_time(metric1_total[5m:])', '1000s', [['{}', 5]]),
      // a subquery as the result of an instant query: its points on its grid
      inst('count_over_time(metric1_total[30s:10s] offset 1h)', '1000s', []),
    ],
  },
  {
    name: 'subqueries over a fast-growing counter',
    interval: '7s',
    load: `metric_total 1 1 2 3 5 8 13 21 34 55 89 144 233 377 610 987 1597 2584 4181 6765 10946 17711 28657 46368 75025 121393 196418 317811 514229 832040 1346269 2178309 3524578 5702887 9227465 14930352 24157817 39088169 63245986 102334155 165580141 267914296 433494437 701408733 1134903170 1836311903 2971215073 4807526976 7778742049 12586269025 20365011074 32951280099 53316291173 86267571272 139583862445 225851433717 365435296162 591286729879 956722026041 1548008755920 2504730781961 4052739537881 6557470319842 10610209857723 17167680177565 27777890035288 44945570212853 72723460248141 117669030460994 190392490709135 308061521170129 498454011879264 806515533049393 1304969544928657 2111485077978050 3416454622906707 5527939700884757 8944394323791464 14472334024676221 23416728348467685 37889062373143906 61305790721611591 99194853094755497 160500643816367088 259695496911122585 420196140727489673 679891637638612258 1100087778366101931 1779979416004714189 2880067194370816120 4660046610375530309 7540113804746346429 12200160415121876738 19740274219868223167 31940434634990099905 51680708854858323072 83621143489848422977 135301852344706746049 218922995834555169026 354224848179261915075 573147844013817084101 927372692193078999176 1500520536206896083277 2427893228399975082453 3928413764606871165730 6356306993006846248183 10284720757613717413913 16641027750620563662096 26925748508234281076009 43566776258854844738105 70492524767089125814114 114059301025943970552219 184551825793033096366333 298611126818977066918552 483162952612010163284885 781774079430987230203437 1264937032042997393488322 2046711111473984623691759 3311648143516982017180081 5358359254990966640871840 8670007398507948658051921 14028366653498915298923761 22698374052006863956975682 36726740705505779255899443 59425114757512643212875125 96151855463018422468774568 155576970220531065681649693 251728825683549488150424261`,
    cases: [
      // extrapolated from [3@21, 144@77]
      inst('rate(metric_total[1m])', '80s', [['{}', 2.517857143]]),
      // [2@20, 144@80] extrapolated to the range start
      inst('rate(metric_total[1m500ms:10s])', '80s', [['{}', 2.3666666666666667]]),
      // extrapolated to the zero point instead
      inst('rate(metric_total[1m1s:10s])', '80s', [['{}', 2.360655737704918]]),
      inst('min_over_time(metric_total[10s])', '20s', [['{}', 2]]),
      inst('min_over_time(metric_total[15s:10s])', '20s', [['{}', 1]]),
      inst('min_over_time(rate(metric_total[5m])[20m:1m])', '20m', [['{}', 0.12119047619047618]]),
    ],
  },
  {
    name: 'subquery range shorter than its step',
    interval: '5m',
    load: 'foo 3+0x10',
    cases: [inst('min_over_time((topk(1, foo))[1m:5m])', '12m', [])],
  },
  {
    name: 'range queries',
    interval: '15s',
    load: `
      bar 0 1 10 100 1000
      bar2 0 1 10 100 1000 0 0 0 0
      bar3 5 17 42 2 7 905 51`,
    cases: [
      rng('sum_over_time(bar[30s])', 0, '1m', '30s', [['{}', '0 11 1100']]),
      rng('sum_over_time(bar2[30s])', 0, '2m', '1m', [['{}', '0 1100 0']]),
      rng('sum_over_time(bar3[30s])', 0, '90s', '30s', [['{}', '5 59 9 956']]),
      // an end that is not on the grid: the last step before it
      rng('bar', 0, '50s', '20s', [['bar', '0 1 10']]),
      // a scalar as a range result: one series without labels
      rng('1 + 1', 0, '30s', '15s', [['{}', '2 2 2']]),
      rng('time()', '10s', '30s', '10s', [['{}', '10 20 30']]),
      rng('nonexistent', 0, '1m', '15s', []),
    ],
  },
  {
    name: 'range queries, more',
    interval: '30s',
    load: `
      metric 1+1x8
      foo{job="1"} 1+1x4
      bar{job="2"} 1+1x4
      requests{job="1", __address__="bar"} 100`,
    cases: [
      rng('metric', 0, '2m', '1m', [['metric', '1 3 5']]),
      rng('foo > 2 or bar', 0, '2m', '1m', [['foo{job="1"}', '_ 3 5'], ['bar{job="2"}', '1 3 5']]),
      // only __name__ is dropped
      rng('requests * 2', 0, '2m', '1m', [['{job="1", __address__="bar"}', '200 200 200']]),
    ],
  },
  {
    name: 'literals and result types',
    interval: '5m',
    load: 'x 1',
    cases: [
      inst('12.34e6', '50m', 12340000),
      inst('12.34e+6', '50m', 12340000),
      inst('12.34e-6', '50m', 0.00001234),
      inst('1+1', '50m', 2),
      inst('1 - -1', '50m', 2),
      inst('.2', '50m', 0.2),
      inst('+0.2', '50m', 0.2),
      inst('-0.2e-6', '50m', -0.0000002),
      inst('+Inf', '50m', Infinity),
      inst('inF', '50m', Infinity),
      inst('-inf', '50m', -Infinity),
      inst('NaN', '50m', NaN),
      inst('2.', '50m', 2),
      inst('((1) / (0))', '50m', Infinity),
      inst('1 % 0', '50m', NaN),
      inst('0x1F', '50m', 31),
    ],
  },
];

for (const b of blocks) {
  describe(`engine: ${b.name}`, () => {
    const h = harness(load(b.interval ?? '5m', b.load ?? ''), b.engine);
    for (const c of b.cases) it(caseName(c), () => runCase(h, c));
  });
}

describe('engine: string and range-vector results of instant queries', () => {
  const src = load(
    '10s',
    `
      some_metric{env="a"} 1+1x5
      some_metric{env="b"} 2+2x5`,
  );
  load(
    '1m',
    `
      minute_metric{env="1"} 0+1x4
      with_stale 0 1 stale 3`,
    src,
  );
  const h = harness(src);

  it('a string literal is a string result', async () => {
    for (const [q, want] of [
      ['"Foo"', 'Foo'],
      ['("Foo")', 'Foo'],
      ['" Foo "', ' Foo '],
      ['""', ''],
      ['`raw\\n`', 'raw\\n'],
    ] as const) {
      const r = await h.instant(q, '50m');
      expect(r.value).toEqual({ resultType: 'string', timestampMs: 3_000_000, value: want });
    }
  });

  it('a range selector returns the raw samples of its window (left-open)', async () => {
    const r = await h.instant('some_metric[1m]', '1m');
    expectMatrix(r, [
      ['some_metric{env="a"}', pts(10, 10, [2, 3, 4, 5, 6])],
      ['some_metric{env="b"}', pts(10, 10, [4, 6, 8, 10, 12])],
    ]);
  });

  it('a range selector leaves staleness markers out', async () => {
    const r = await h.instant('with_stale[3m]', '3m');
    expectMatrix(r, [['with_stale', [[60, 1], [180, 3]]]]);
  });

  it('a range selector over nothing is an empty matrix', async () => {
    const r = await h.instant('some_nonexistent_metric[1m]', '1m');
    expect(asMatrix(r).size).toBe(0);
  });

  it('a subquery returns its points on its own grid', async () => {
    const r = await h.instant('minute_metric[3m:1m]', '3m');
    expectMatrix(r, [['minute_metric{env="1"}', [[60, 1], [120, 2], [180, 3]]]]);
  });

  it('sort in a range query warns', async () => {
    const r = await h.range('sort(some_metric)', '10s', '20s', '10s');
    expect(r.warnings).toEqual(['PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:1)']);
    const r2 = await h.range('sum(sort(some_metric))', '10s', '20s', '10s');
    expect(r2.warnings).toEqual(['PromQL warning: sort is ineffective for range queries since results are always ordered by labels (1:5)']);
  });

  it('range results are sorted by labels', async () => {
    const r = await h.range('some_metric or minute_metric', 0, '10s', '10s');
    if (r.value.resultType !== 'matrix') throw new Error('not a matrix');
    expect(r.value.series.map((s) => labelsToString(s.labels))).toEqual(['{__name__="minute_metric", env="1"}', '{__name__="some_metric", env="a"}', '{__name__="some_metric", env="b"}']);
  });

  it('rate() of a name without a counter suffix adds an info annotation', async () => {
    const r = await h.instant('rate(some_metric[1m])', '1m');
    expect(r.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "some_metric" (1:6)']);
    expect(r.warnings).toEqual([]);
  });
});

describe('engine: errors and limits', () => {
  const src = load('15s', 'up{job="a"} 1+0x100\nup{job="b"} 1+0x100');
  const engine = createEngine();

  async function errorOf(p: Promise<unknown>): Promise<{ message: string; errorType: string; status: number }> {
    try {
      await p;
    } catch (e) {
      if (!isPromqlError(e)) throw e;
      return { message: e.message, errorType: e.errorType, status: e.status };
    }
    throw new Error('expected an error');
  }

  it('a parse error is bad_data with a position', async () => {
    expect(await errorOf(engine.instantQuery(src, 'sum(up', 0))).toEqual({ message: '1:7: parse error: unclosed left parenthesis', errorType: 'bad_data', status: 400 });
  });

  it('range queries validate step, range and resolution as Prometheus', async () => {
    expect(await errorOf(engine.rangeQuery(src, 'up', 0, 60_000, 0))).toMatchObject({ errorType: 'bad_data', message: 'zero or negative query resolution step widths are not accepted. Try a positive integer' });
    expect(await errorOf(engine.rangeQuery(src, 'up', 60_000, 0, 1000))).toMatchObject({ errorType: 'bad_data', message: 'end timestamp must not be before start time' });
    expect(await errorOf(engine.rangeQuery(src, 'up', 0, 11_001_000, 1000))).toMatchObject({
      errorType: 'bad_data',
      message: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    });
    // exactly 11,000 steps past the start are allowed
    const ok = await engine.rangeQuery(src, '1', 0, 11_000_000, 1000);
    expect(ok.value.resultType === 'matrix' && ok.value.series[0]?.values.length).toBe(11_001);
    expect(await errorOf(engine.rangeQuery(src, 'up[5m]', 0, 60_000, 15_000))).toMatchObject({
      errorType: 'bad_data',
      message: 'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    });
    expect(await errorOf(engine.rangeQuery(src, '"str"', 0, 60_000, 15_000))).toMatchObject({ errorType: 'bad_data', message: 'invalid expression type "string" for range query, must be Scalar or instant Vector' });
  });

  it('too many samples is an execution error', async () => {
    const small = createEngine({ maxSamples: 10 });
    expect(await errorOf(small.rangeQuery(src, 'up', 0, 300_000, 15_000))).toEqual({
      message: 'query processing would load too many samples into memory in query execution',
      errorType: 'execution',
      status: 422,
    });
    // within the limit the same query works
    const enough = createEngine({ maxSamples: 1000 });
    const r = await enough.rangeQuery(src, 'up', 0, 300_000, 15_000);
    expect(r.value.resultType === 'matrix' && r.value.series.length).toBe(2);
    expect(r.stats.peakSamples).toBeGreaterThan(10);
    expect(r.stats.peakSamples).toBeLessThanOrEqual(1000);
    // windows of range functions count too
    expect(await errorOf(createEngine({ maxSamples: 15 }).instantQuery(src, 'sum_over_time(up[10m])', 600_000))).toMatchObject({ errorType: 'execution' });
  });

  it('a caller abort cancels the query', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await errorOf(engine.instantQuery(src, 'up', 0, ac.signal))).toMatchObject({ errorType: 'canceled', status: 499 });
  });

  it('a source that outlives the timeout times the query out, and is told to stop', async () => {
    let sawAbort = false;
    const slow: SeriesSource = {
      select: (_req, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          });
        }),
    };
    const e = createEngine({ timeoutMs: 50 });
    expect(await errorOf(e.instantQuery(slow, 'up', 0))).toEqual({ message: 'query timed out in query execution', errorType: 'timeout', status: 503 });
    expect(sawAbort).toBe(true);
  });

  it('cancelling while the source works reports canceled', async () => {
    const ac = new AbortController();
    const slow: SeriesSource = {
      select: (_req, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason));
          setTimeout(() => ac.abort(), 5);
        }),
    };
    expect(await errorOf(engine.instantQuery(slow, 'up', 0, ac.signal))).toMatchObject({ errorType: 'canceled', message: 'query was canceled in query execution' });
  });

  it('a long evaluation stops at the timeout', async () => {
    const big = createMemorySource();
    const t = Float64Array.from({ length: 2000 }, (_, i) => i * 15_000);
    for (let s = 0; s < 200; s++) big.add({ labels: { __name__: 'm', i: String(s) }, timestampsMs: t, values: new Float64Array(2000).fill(s) });
    const e = createEngine({ timeoutMs: 1 });
    const err = await errorOf(e.rangeQuery(big, 'sum(rate(m[5m])) + sum(avg_over_time(m[10m])) + count(m > 2)', 0, 2000 * 15_000, 15_000));
    expect(err.errorType).toBe('timeout');
    expect(err.message).toMatch(/^query timed out in /);
  });

  it('a failing source is an internal error', async () => {
    const broken: SeriesSource = { select: async () => Promise.reject(new Error('disk on fire')) };
    expect(await errorOf(engine.instantQuery(broken, 'up', 0))).toMatchObject({ errorType: 'internal', message: 'expanding series: disk on fire' });
  });

  it('createEngine rejects nonsense options', () => {
    expect(() => createEngine({ lookbackDeltaMs: 0 })).toThrow(/lookbackDeltaMs/);
  });

  it('per-query lookback delta', async () => {
    const r = await engine.instantQuery(src, 'up{job="a"}', 1500_000 + 60_000, undefined, { lookbackDeltaMs: 30_000 });
    expect(r.value.resultType === 'vector' && r.value.samples.length).toBe(0);
    const r2 = await engine.instantQuery(src, 'up{job="a"}', 1500_000 + 60_000);
    expect(r2.value.resultType === 'vector' && r2.value.samples.length).toBe(1);
  });

  it('format_query through the engine', () => {
    expect(engine.formatQuery('sum(rate(x[5m]))by(job)')).toBe('sum by (job) (rate(x[5m]))');
  });
});

describe('engine: select requests (the storage seam)', () => {
  it('widens instant selectors by the lookback minus 1ms and moves them by the offset', async () => {
    const src = createMemorySource();
    const e = createEngine();
    await e.instantQuery(src, 'up offset 1m', 600_000);
    expect(src.selects[0]).toMatchObject({ startMs: 600_000 - 60_000 - 300_000 + 1, endMs: 540_000, matchers: [{ name: '__name__', type: '=', value: 'up' }] });
    expect(src.selects[0]?.hints).toMatchObject({ func: '', rangeMs: 0, stepMs: 0, offsetMs: 60_000, lookbackDeltaMs: 300_000 });
  });

  it('range selectors: the range left-open, the enclosing function and grouping as hints', async () => {
    const src = createMemorySource();
    const e = createEngine();
    await e.rangeQuery(src, 'sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))', 3_600_000, 7_200_000, 60_000);
    const req = src.selects[0];
    expect(req).toMatchObject({ startMs: 3_600_000 - 300_000 + 1, endMs: 7_200_000 });
    expect(req?.hints).toMatchObject({ func: 'rate', rangeMs: 300_000, stepMs: 60_000, by: false, grouping: [] });
    expect(req?.matchers).toEqual([
      { name: 'code', type: '=~', value: '5..' },
      { name: '__name__', type: '=', value: 'http_requests_total' },
    ]);
  });

  it('a selector directly under an aggregation carries its grouping', async () => {
    const src = createMemorySource();
    await createEngine().instantQuery(src, 'sum without (instance) (up)', 0);
    expect(src.selects[0]?.hints).toMatchObject({ func: 'sum', by: false, grouping: ['instance'] });
    await createEngine().instantQuery(src, 'max by (job) (up)', 0);
    expect(src.selects[1]?.hints).toMatchObject({ func: 'max', by: true, grouping: ['job'] });
  });

  it('subqueries move and widen the selected range; @ pins it', async () => {
    const src = createMemorySource();
    const e = createEngine();
    await e.instantQuery(src, 'max_over_time(rate(x[1m])[10m:30s] offset 5m)', 3_600_000);
    expect(src.selects[0]).toMatchObject({ startMs: 3_600_000 - 300_000 - 600_000 - 60_000 + 1, endMs: 3_600_000 - 300_000 });
    expect(src.selects[0]?.hints).toMatchObject({ func: 'rate', stepMs: 30_000 });
    await e.instantQuery(src, 'max_over_time(x[10m:30s] @ 100)', 3_600_000);
    expect(src.selects[1]).toMatchObject({ startMs: 100_000 - 600_000 - 300_000 + 1, endMs: 100_000 });
    await e.rangeQuery(src, 'x @ end()', 0, 60_000, 15_000);
    expect(src.selects[2]).toMatchObject({ startMs: 60_000 - 300_000 + 1, endMs: 60_000 });
  });

  it('a binary operator stops the function hint', async () => {
    const src = createMemorySource();
    await createEngine().instantQuery(src, 'sum(a + b)', 0);
    expect(src.selects.map((s) => s.hints.func)).toEqual(['', '']);
  });
});

describe('engine: pushdown seam', () => {
  it('uses a result the source computed and skips fetching beneath it', async () => {
    const offered: PushdownRequest[] = [];
    const base = load('1m', 'x{job="a"} 1+1x10\nx{job="b"} 2+2x10\ny 5+0x10');
    const src: SeriesSource = {
      select: (req, signal) => base.select(req, signal),
      pushdown: async (req) => {
        offered.push(req);
        if (req.expr.type !== 'AggregateExpr' || req.expr.op !== 'sum') return null;
        const n = req.stepMs > 0 ? Math.floor((req.endMs - req.startMs) / req.stepMs) + 1 : 1;
        // a deliberately recognisable answer
        return { series: [{ labels: { names: ['pushed'], values: ['yes'] }, values: new Float64Array(n).fill(42), present: null }] };
      },
    };
    const e = createEngine();
    const r = await e.rangeQuery(src, 'sum(x) + on() group_left y', 60_000, 180_000, 60_000);
    expect(asMatrix(r).get('{pushed="yes"}')).toEqual([
      [60, 47],
      [120, 47],
      [180, 47],
    ]);
    // the binary expression is offered but declined, then both sides
    expect(offered.map((o) => o.expr.type)).toEqual(['AggregateExpr']);
    expect(offered[0]).toMatchObject({ startMs: 60_000, endMs: 180_000, stepMs: 60_000, lookbackDeltaMs: 300_000 });
    // only y was fetched: x sits under the pushed-down sum
    expect(base.selects.map((s) => s.matchers.find((m) => m.name === '__name__')?.value)).toEqual(['y']);
  });

  it('evaluates itself when the source declines', async () => {
    const base = load('1m', 'x{job="a"} 1+1x10\nx{job="b"} 2+2x10');
    const src: SeriesSource = { select: (req, s) => base.select(req, s), pushdown: async () => null };
    const r = await createEngine().instantQuery(src, 'sum(x)', 120_000);
    expect(r.value).toMatchObject({ resultType: 'vector', samples: [{ value: 9 }] });
  });
});
