// Aggregation operators, table-driven. Semantics follow the Prometheus
// documentation (querying/operators#aggregation-operators) and the cases of
// Prometheus's aggregators.test and limit.test, re-expressed here for float
// samples.
import { describe, it } from 'vitest';
import { harness, inst, load, rng, fails, runCase, caseName, type Block } from './helpers/promql.ts';

const HTTP = `
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  http_requests{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests{job="api-server", instance="1", group="canary"} 0+40x10
  http_requests{job="app-server", instance="0", group="production"} 0+50x10
  http_requests{job="app-server", instance="1", group="production"} 0+60x10
  http_requests{job="app-server", instance="0", group="canary"} 0+70x10
  http_requests{job="app-server", instance="1", group="canary"} 0+80x10
  foo{job="api-server", instance="0", region="europe"} 0+90x10
  foo{job="api-server"} 0+100x10`;

const blocks: Block[] = [
  {
    name: 'sum, avg, count, min, max with by and without',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('SUM BY (group) (http_requests{job="api-server"})', '50m', [['{group="canary"}', 700], ['{group="production"}', 300]]),
      inst('SUM BY (group) (((http_requests{job="api-server"})))', '50m', [['{group="canary"}', 700], ['{group="production"}', 300]]),
      inst('sum(http_requests{job="api-server"}) by (group)', '50m', [['{group="canary"}', 700], ['{group="production"}', 300]]),
      inst('avg by (group) (http_requests{job="api-server"})', '50m', [['{group="canary"}', 350], ['{group="production"}', 150]]),
      inst('count by (group) (http_requests{job="api-server"})', '50m', [['{group="canary"}', 2], ['{group="production"}', 2]]),
      inst('sum without (instance) (http_requests{job="api-server"})', '50m', [['{group="canary",job="api-server"}', 700], ['{group="production",job="api-server"}', 300]]),
      inst('sum by () (http_requests{job="api-server"})', '50m', [['{}', 1000]]),
      inst('sum(http_requests{job="api-server"})', '50m', [['{}', 1000]]),
      // without () still drops the metric name
      inst('sum without () (http_requests{job="api-server",group="production"})', '50m', [
        ['{group="production",job="api-server",instance="0"}', 100],
        ['{group="production",job="api-server",instance="1"}', 200],
      ]),
      inst('sum without (instance) (http_requests{job="api-server"} or foo)', '50m', [
        ['{group="canary",job="api-server"}', 700],
        ['{group="production",job="api-server"}', 300],
        ['{region="europe",job="api-server"}', 900],
        ['{job="api-server"}', 1000],
      ]),
      inst('sum(http_requests) by (job) + min(http_requests) by (job) + max(http_requests) by (job) + avg(http_requests) by (job)', '50m', [['{job="app-server"}', 4550], ['{job="api-server"}', 1750]]),
      inst('sum(sum by (group) (http_requests{job="api-server"})) by (job)', '50m', [['{}', 1000]]),
      inst('SUM(http_requests)', '50m', [['{}', 3600]]),
      inst('SUM(http_requests{instance="0"}) BY(job)', '50m', [['{job="api-server"}', 400], ['{job="app-server"}', 1200]]),
      // a missing grouping label is not added
      inst('SUM(http_requests) BY (job, nonexistent)', '50m', [['{job="api-server"}', 1000], ['{job="app-server"}', 2600]]),
      inst('COUNT(http_requests) BY (job)', '50m', [['{job="api-server"}', 4], ['{job="app-server"}', 4]]),
      inst('SUM(http_requests) BY (job, group)', '50m', [
        ['{group="canary", job="api-server"}', 700],
        ['{group="canary", job="app-server"}', 1500],
        ['{group="production", job="api-server"}', 300],
        ['{group="production", job="app-server"}', 1100],
      ]),
      inst('AVG(http_requests) BY (job)', '50m', [['{job="api-server"}', 250], ['{job="app-server"}', 650]]),
      inst('MIN(http_requests) BY (job)', '50m', [['{job="api-server"}', 100], ['{job="app-server"}', 500]]),
      inst('MAX(http_requests) BY (job)', '50m', [['{job="api-server"}', 400], ['{job="app-server"}', 800]]),
      // by (__name__) keeps the name
      inst('count by (__name__) ({job="api-server"})', '50m', [['http_requests', 4], ['foo', 2]]),
      inst('group by (job) (http_requests)', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 1]]),
      inst('sum(nonexistent)', '50m', []),
      rng('sum by (group) (http_requests{job="api-server"})', 0, '10m', '5m', [['{group="canary"}', '0 70 140'], ['{group="production"}', '0 30 60']]),
    ],
  },
  {
    name: 'rounding functions combined with aggregations',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('round(0.005 * http_requests{group="production",job="api-server"})', '50m', [['{group="production", instance="0", job="api-server"}', 1], ['{group="production", instance="1", job="api-server"}', 1]]),
      inst('round(-1 * (0.005 * http_requests{group="production",job="api-server"}))', '50m', [['{group="production", instance="0", job="api-server"}', 0], ['{group="production", instance="1", job="api-server"}', -1]]),
      inst('round(-1 * (1 + 0.005 * http_requests{group="production",job="api-server"}))', '50m', [['{group="production", instance="0", job="api-server"}', -1], ['{group="production", instance="1", job="api-server"}', -2]]),
      inst('round(2.1 + 0.0005 * http_requests{group="production",job="api-server"}, 0.1)', '50m', [['{group="production", instance="0", job="api-server"}', 2.2], ['{group="production", instance="1", job="api-server"}', 2.2]]),
      inst('round(-1 * (5.2 + 0.0005 * http_requests{group="production",job="api-server"}), 0.1)', '50m', [['{group="production", instance="0", job="api-server"}', -5.2], ['{group="production", instance="1", job="api-server"}', -5.3]]),
      inst('round(0.045 * http_requests{group="production",job="api-server"}, 5)', '50m', [['{group="production", instance="0", job="api-server"}', 5], ['{group="production", instance="1", job="api-server"}', 10]]),
      inst('floor(0.004 * http_requests{group="production",job="api-server"})', '50m', [['{group="production", instance="0", job="api-server"}', 0], ['{group="production", instance="1", job="api-server"}', 0]]),
      inst('ceil(0.004 * http_requests{group="production",job="api-server"})', '50m', [['{group="production", instance="0", job="api-server"}', 1], ['{group="production", instance="1", job="api-server"}', 1]]),
    ],
  },
  {
    name: 'stddev and stdvar',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('stddev(http_requests)', '50m', [['{}', 229.12878474779]]),
      inst('stddev by (instance)(http_requests)', '50m', [['{instance="0"}', 223.60679774998], ['{instance="1"}', 223.60679774998]]),
      inst('stdvar(http_requests)', '50m', [['{}', 52500]]),
      inst('stdvar by (instance)(http_requests)', '50m', [['{instance="0"}', 50000], ['{instance="1"}', 50000]]),
    ],
  },
  {
    name: 'stddev precision and NaN/Inf',
    interval: '5m',
    load: `
      precise{job="api-server", instance="0", group="production"} 0+1.33x10
      precise{job="api-server", instance="1", group="production"} 0+1.33x10
      precise{job="api-server", instance="0", group="canary"} 0+1.33x10
      s1{label="a"} 1
      s1{label="b"} 2
      s2{label="a"} 1
      s2{label="b"} 2
      s2{label="c"} NaN
      s3{label="a"} NaN
      s3{label="b"} 1
      s3{label="c"} 2
      s4{label="a"} 1
      s4{label="b"} 2
      s4{label="c"} Inf
      s5{label="a"} Inf
      s5{label="b"} 1
      s5{label="c"} 2`,
    cases: [
      inst('stddev(precise)', '50m', [['{}', 0]]),
      inst('stdvar(precise)', '50m', [['{}', 0]]),
      inst('stddev(s1)', 0, [['{}', 0.5]]),
      inst('stdvar(s1)', 0, [['{}', 0.25]]),
      inst('stddev by (label) (s1)', 0, [['{label="a"}', 0], ['{label="b"}', 0]]),
      inst('stddev(s2)', 0, [['{}', NaN]]),
      inst('stdvar by (label) (s2)', 0, [['{label="a"}', 0], ['{label="b"}', 0], ['{label="c"}', NaN]]),
      inst('stddev(s3)', 0, [['{}', NaN]]),
      inst('stddev by (label) (s3)', 0, [['{label="a"}', NaN], ['{label="b"}', 0], ['{label="c"}', 0]]),
      inst('stddev(s4)', 0, [['{}', NaN]]),
      inst('stdvar by (label) (s4)', 0, [['{label="a"}', 0], ['{label="b"}', 0], ['{label="c"}', NaN]]),
      inst('stddev(s5)', 0, [['{}', NaN]]),
      inst('stdvar by (label) (s5)', 0, [['{label="a"}', NaN], ['{label="b"}', 0], ['{label="c"}', 0]]),
    ],
  },
  {
    name: 'grouping keys keep label boundaries',
    interval: '5m',
    load: `
      label_grouping_test{a="aa", b="bb"} 0+10x10
      label_grouping_test{a="a", b="abb"} 0+20x10`,
    cases: [inst('sum(label_grouping_test) by (a, b)', '50m', [['{a="a", b="abb"}', 200], ['{a="aa", b="bb"}', 100]])],
  },
  {
    name: 'min and max with NaN',
    interval: '5m',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 1
      http_requests{job="api-server", instance="1", group="production"} 2
      http_requests{job="api-server", instance="0", group="canary"} NaN
      http_requests{job="api-server", instance="1", group="canary"} 3
      http_requests{job="api-server", instance="2", group="canary"} 4
      only_nan NaN`,
    cases: [
      inst('max(http_requests)', 0, [['{}', 4]]),
      inst('min(http_requests)', 0, [['{}', 1]]),
      inst('max by (group) (http_requests)', 0, [['{group="production"}', 2], ['{group="canary"}', 4]]),
      inst('min by (group) (http_requests)', 0, [['{group="production"}', 1], ['{group="canary"}', 3]]),
      inst('max(only_nan)', 0, [['{}', NaN]]),
    ],
  },
  {
    name: 'topk and bottomk',
    interval: '5m',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 0+10x10
      http_requests{job="api-server", instance="1", group="production"} 0+20x10
      http_requests{job="api-server", instance="2", group="production"} NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN
      http_requests{job="api-server", instance="0", group="canary"} 0+30x10
      http_requests{job="api-server", instance="1", group="canary"} 0+40x10
      http_requests{job="app-server", instance="0", group="production"} 0+50x10
      http_requests{job="app-server", instance="1", group="production"} 0+60x10
      http_requests{job="app-server", instance="0", group="canary"} 0+70x10
      http_requests{job="app-server", instance="1", group="canary"} 0+80x10
      foo 1+1x9 3`,
    cases: [
      inst(
        'topk(3, http_requests)',
        '50m',
        [
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
        ],
        { ordered: true },
      ),
      inst(
        'topk((3), (http_requests))',
        '50m',
        [
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
        ],
        { ordered: true },
      ),
      inst('topk(5, http_requests{group="canary",job="app-server"})', '50m', [
        ['http_requests{group="canary", instance="1", job="app-server"}', 800],
        ['http_requests{group="canary", instance="0", job="app-server"}', 700],
      ], { ordered: true }),
      inst(
        'bottomk(3, http_requests)',
        '50m',
        [
          ['http_requests{group="production", instance="0", job="api-server"}', 100],
          ['http_requests{group="production", instance="1", job="api-server"}', 200],
          ['http_requests{group="canary", instance="0", job="api-server"}', 300],
        ],
        { ordered: true },
      ),
      inst('bottomk(5, http_requests{group="canary",job="app-server"})', '50m', [
        ['http_requests{group="canary", instance="0", job="app-server"}', 700],
        ['http_requests{group="canary", instance="1", job="app-server"}', 800],
      ], { ordered: true }),
      inst('topk by (group) (1, http_requests)', '50m', [
        ['http_requests{group="production", instance="1", job="app-server"}', 600],
        ['http_requests{group="canary", instance="1", job="app-server"}', 800],
      ]),
      inst('bottomk by (group) (2, http_requests)', '50m', [
        ['http_requests{group="canary", instance="0", job="api-server"}', 300],
        ['http_requests{group="canary", instance="1", job="api-server"}', 400],
        ['http_requests{group="production", instance="0", job="api-server"}', 100],
        ['http_requests{group="production", instance="1", job="api-server"}', 200],
      ]),
      inst('bottomk by (group) (2, http_requests{group="production"})', '50m', [
        ['http_requests{group="production", instance="0", job="api-server"}', 100],
        ['http_requests{group="production", instance="1", job="api-server"}', 200],
      ], { ordered: true }),
      // NaN sorts away from both ends
      inst(
        'topk(3, http_requests{job="api-server",group="production"})',
        '50m',
        [
          ['http_requests{job="api-server", instance="1", group="production"}', 200],
          ['http_requests{job="api-server", instance="0", group="production"}', 100],
          ['http_requests{job="api-server", instance="2", group="production"}', NaN],
        ],
        { ordered: true },
      ),
      inst(
        'bottomk(3, http_requests{job="api-server",group="production"})',
        '50m',
        [
          ['http_requests{job="api-server", instance="0", group="production"}', 100],
          ['http_requests{job="api-server", instance="1", group="production"}', 200],
          ['http_requests{job="api-server", instance="2", group="production"}', NaN],
        ],
        { ordered: true },
      ),
      inst('topk(1, http_requests{job="api-server",group="production"})', '50m', [['http_requests{job="api-server", instance="1", group="production"}', 200]]),
      inst('bottomk(9999999999, http_requests{job="app-server",group="canary"})', '50m', [
        ['http_requests{group="canary", instance="0", job="app-server"}', 700],
        ['http_requests{group="canary", instance="1", job="app-server"}', 800],
      ], { ordered: true }),
      inst(
        'topk(scalar(foo), http_requests)',
        '50m',
        [
          ['http_requests{group="canary", instance="1", job="app-server"}', 800],
          ['http_requests{group="canary", instance="0", job="app-server"}', 700],
          ['http_requests{group="production", instance="1", job="app-server"}', 600],
        ],
        { ordered: true },
      ),
      // k may change at every step
      rng('count(topk(scalar(foo), http_requests))', 0, '50m', '5m', [['{}', '1 2 3 4 5 6 7 8 9 9 3']]),
      rng('count(bottomk(scalar(foo), http_requests))', 0, '50m', '5m', [['{}', '1 2 3 4 5 6 7 8 9 9 3']]),
      // k < 1 gives nothing; k is truncated
      inst('topk(0, http_requests)', '50m', []),
      inst('topk(-1, http_requests)', '50m', []),
      inst('count(topk(2.9, http_requests))', '50m', [['{}', 2]]),
      rng('topk(1, http_requests{group="canary"})', '5m', '10m', '5m', [['http_requests{group="canary", instance="1", job="app-server"}', '80 160']]),
      // at 0 every value ties at 0: the first series seen is kept
      rng('topk(1, http_requests{group="canary"})', 0, '5m', '5m', [
        ['http_requests{group="canary", instance="0", job="api-server"}', '0 _'],
        ['http_requests{group="canary", instance="1", job="app-server"}', '_ 80'],
      ]),
      fails('topk(NaN, non_existent)', '50m', 'Parameter value is NaN', 'execution'),
      fails('topk(9.3e18, http_requests)', '50m', 'Scalar value 9.3e+18 overflows int64', 'execution'),
    ],
  },
  {
    name: 'count_values',
    interval: '5m',
    load: `
      version{job="api-server", instance="0", group="production"} 6
      version{job="api-server", instance="1", group="production"} 6
      version{job="api-server", instance="2", group="production"} 6
      version{job="api-server", instance="0", group="canary"} 8
      version{job="api-server", instance="1", group="canary"} 8
      version{job="app-server", instance="0", group="production"} 6
      version{job="app-server", instance="1", group="production"} 6
      version{job="app-server", instance="0", group="canary"} 7
      version{job="app-server", instance="1", group="canary"} 7
      odd{a="1"} 1e21
      odd{a="2"} 0.000001
      odd{a="3"} -Inf
      odd{a="4"} NaN`,
    cases: [
      inst('count_values("version", version)', '1m', [['{version="6"}', 5], ['{version="7"}', 2], ['{version="8"}', 2]]),
      inst('count_values(((("version"))), version)', '1m', [['{version="6"}', 5], ['{version="7"}', 2], ['{version="8"}', 2]]),
      inst('count_values without (instance)("version", version)', '1m', [
        ['{job="api-server", group="production", version="6"}', 3],
        ['{job="api-server", group="canary", version="8"}', 2],
        ['{job="app-server", group="production", version="6"}', 2],
        ['{job="app-server", group="canary", version="7"}', 2],
      ]),
      // the value label overwrites an existing label
      inst('count_values without (instance)("job", version)', '1m', [['{job="6", group="production"}', 5], ['{job="8", group="canary"}', 2], ['{job="7", group="canary"}', 2]]),
      inst('count_values by (job, group)("job", version)', '1m', [['{job="6", group="production"}', 5], ['{job="8", group="canary"}', 2], ['{job="7", group="canary"}', 2]]),
      // values printed like Go's FormatFloat(f, 'f', -1, 64)
      inst('count_values("v", odd)', '1m', [['{v="1000000000000000000000"}', 1], ['{v="0.000001"}', 1], ['{v="-Inf"}', 1], ['{v="NaN"}', 1]]),
      fails('count_values("", version)', 0, 'invalid label name ""', 'execution'),
    ],
  },
  {
    name: 'quantile',
    interval: '10s',
    load: `
      data{test="two samples",point="a"} 0
      data{test="two samples",point="b"} 1
      data{test="three samples",point="a"} 0
      data{test="three samples",point="b"} 1
      data{test="three samples",point="c"} 2
      data{test="uneven samples",point="a"} 0
      data{test="uneven samples",point="b"} 1
      data{test="uneven samples",point="c"} 4
      data{test="NaN sample",point="a"} 0
      data{test="NaN sample",point="b"} 1
      data{test="NaN sample",point="c"} NaN
      foo 0 1 0 1 0 1 0.8`,
    cases: [
      // NaN counts as the smallest value
      inst('quantile without(point)(0.8, data)', '1m', [['{test="two samples"}', 0.8], ['{test="three samples"}', 1.6], ['{test="uneven samples"}', 2.8], ['{test="NaN sample"}', 0.6]], { noAnnotations: true }),
      inst('quantile without(point)(0.2, data)', '1m', [['{test="two samples"}', 0.2], ['{test="three samples"}', 0.4], ['{test="uneven samples"}', 0.4], ['{test="NaN sample"}', NaN]]),
      inst('quantile without(point)(scalar(foo), data)', '1m', [['{test="two samples"}', 0.8], ['{test="three samples"}', 1.6], ['{test="uneven samples"}', 2.8], ['{test="NaN sample"}', 0.6]]),
      inst('quantile without(point)((scalar(foo)), data)', '1m', [['{test="two samples"}', 0.8], ['{test="three samples"}', 1.6], ['{test="uneven samples"}', 2.8], ['{test="NaN sample"}', 0.6]]),
      inst('quantile without(point)(NaN, data)', '1m', [['{test="two samples"}', NaN], ['{test="three samples"}', NaN], ['{test="uneven samples"}', NaN], ['{test="NaN sample"}', NaN]], {
        warn: /^PromQL warning: quantile value should be between 0 and 1, got NaN \(1:25\)$/,
      }),
      inst('quantile(2, data)', '1m', [['{}', Infinity]], { warn: /got 2 / }),
      rng('quantile without(point) (scalar(foo), data)', 0, '1m', '10s', [
        ['{test="two samples"}', '0 1 0 1 0 1 0.8'],
        ['{test="three samples"}', '0 2 0 2 0 2 1.6'],
        ['{test="uneven samples"}', '0 4 0 4 0 4 2.8'],
        ['{test="NaN sample"}', 'NaN 1 NaN 1 NaN 1 0.6'],
      ]),
      inst('group without(point)(data)', '1m', [['{test="two samples"}', 1], ['{test="three samples"}', 1], ['{test="uneven samples"}', 1], ['{test="NaN sample"}', 1]]),
      inst('group(foo)', '1m', [['{}', 1]]),
    ],
  },
  {
    name: 'avg with infinities, NaN and huge values',
    interval: '10s',
    load: `
      data{test="ten",point="a"} 8
      data{test="ten",point="b"} 10
      data{test="ten",point="c"} 12
      data{test="inf",point="a"} 0
      data{test="inf",point="b"} Inf
      data{test="inf",point="d"} Inf
      data{test="inf",point="c"} 0
      data{test="-inf",point="a"} -Inf
      data{test="-inf",point="b"} -Inf
      data{test="-inf",point="c"} 0
      data{test="inf2",point="a"} Inf
      data{test="inf2",point="b"} 0
      data{test="inf2",point="c"} Inf
      data{test="inf3",point="b"} Inf
      data{test="inf3",point="c"} Inf
      data{test="inf3",point="d"} -Inf
      data{test="nan",point="a"} -Inf
      data{test="nan",point="b"} 0
      data{test="nan",point="c"} Inf
      data{test="big",point="a"} 9.988465674311579e+307
      data{test="big",point="b"} 9.988465674311579e+307
      data{test="big",point="c"} 9.988465674311579e+307
      data{test="big",point="d"} 9.988465674311579e+307
      data{test="-big",point="a"} -9.988465674311579e+307
      data{test="-big",point="b"} -9.988465674311579e+307
      data{test="-big",point="c"} -9.988465674311579e+307
      data{test="-big",point="d"} -9.988465674311579e+307
      data{test="bigzero",point="a"} -9.988465674311579e+307
      data{test="bigzero",point="b"} -9.988465674311579e+307
      data{test="bigzero",point="c"} 9.988465674311579e+307
      data{test="bigzero",point="d"} 9.988465674311579e+307
      data{test="value is nan"} NaN
      kahan{test="ten",point="a"} 2
      kahan{test="ten",point="b"} 8
      kahan{test="ten",point="c"} 1e+100
      kahan{test="ten",point="d"} -1e100
      kahan{test="inf_inf",point="a"} Inf
      kahan{test="inf_inf",point="b"} -Inf
      same{idx="0"} 52
      same{idx="1"} 52
      same{idx="2"} 52
      same{idx="3"} 52
      same{idx="4"} 52
      same{idx="5"} 52
      same{idx="6"} 52
      same{idx="7"} 52
      same{idx="8"} 52
      same{idx="9"} 52
      same{idx="10"} 52
      same{idx="11"} 52`,
    cases: [
      inst('avg(data{test="ten"})', '1m', [['{}', 10]]),
      inst('avg(data{test="inf"})', '1m', [['{}', Infinity]]),
      inst('avg(data{test="inf2"})', '1m', [['{}', Infinity]]),
      inst('avg(data{test="inf3"})', '1m', [['{}', NaN]]),
      inst('avg(data{test="-inf"})', '1m', [['{}', -Infinity]]),
      inst('avg(data{test="nan"})', '1m', [['{}', NaN]]),
      inst('avg(data{test="big"})', '1m', [['{}', 9.988465674311579e307]]),
      inst('avg(data{test="-big"})', '1m', [['{}', -9.988465674311579e307]]),
      inst('avg(data{test="bigzero"})', '1m', [['{}', 0]]),
      inst('avg(data)', '1m', [['{}', NaN]]),
      // Kahan summation keeps small values next to 1e100
      inst('sum(kahan{test="ten"})', '1m', [['{}', 10]]),
      inst('avg(kahan{test="ten"})', '1m', [['{}', 2.5]]),
      inst('sum(kahan{test="inf_inf"})', '1m', [['{}', NaN]]),
      inst('avg(same) - 52', 0, [['{}', 0]]),
      inst('avg(topk(11, same)) == 52', 0, [['{}', 52]]),
      inst('avg(topk(9, same)) == 52', 0, [['{}', 52]]),
    ],
  },
  {
    name: 'limitk and limit_ratio',
    interval: '5m',
    load: `
      http_requests{job="api-server", instance="0", group="production"} 0+10x10
      http_requests{job="api-server", instance="1", group="production"} 0+20x10
      http_requests{job="api-server", instance="0", group="canary"} 0+30x10
      http_requests{job="api-server", instance="1", group="canary"} 0+40x10
      http_requests{job="api-server", instance="2", group="canary"} 0+50x10
      http_requests{job="api-server", instance="3", group="canary"} 0+60x10
      foo 1+1x10
      bar 0 1 0 -1 0 1 0 -1 0 1 0`,
    cases: [
      inst('count(limitk by (group) (0, http_requests))', '50m', [], { noAnnotations: true }),
      inst('count(limitk by (group) (-1, http_requests))', '50m', []),
      inst('count(limitk by (group) (1, http_requests) and http_requests)', '50m', [['{}', 2]]),
      inst('count(limitk by (group) (2, http_requests) and http_requests)', '50m', [['{}', 4]]),
      inst('count(limitk(100, http_requests) and http_requests)', '50m', [['{}', 6]]),
      // the first k series per group, with their names and labels
      inst('limitk by (group) (1, http_requests)', '50m', [
        ['http_requests{job="api-server", instance="0", group="canary"}', 300],
        ['http_requests{job="api-server", instance="0", group="production"}', 100],
      ]),
      rng('count(limitk(scalar(foo), http_requests))', 0, '50m', '5m', [['{}', '1 2 3 4 5 6 6 6 6 6 6']]),
      rng('count(limitk(2, http_requests) and http_requests)', 0, '50m', '5m', [['{}', '2+0x10']]),
      rng('count(limit_ratio(0.0, http_requests))', 0, '50m', '5m', []),
      rng('count(limit_ratio(1.0, http_requests) and http_requests)', 0, '50m', '5m', [['{}', '6+0x10']]),
      rng('count(limit_ratio(-1.0, http_requests) and http_requests)', 0, '50m', '5m', [['{}', '6+0x10']]),
      // ratio r and -(1-r) pick complementary subsets
      rng('count(limit_ratio(0.2, http_requests) or limit_ratio(-0.8, http_requests))', 0, '50m', '5m', [['{}', '6+0x10']]),
      rng('count(limit_ratio(0.2, http_requests) and limit_ratio(-0.8, http_requests))', 0, '50m', '5m', []),
      rng('count(limit_ratio(0.5, http_requests) or limit_ratio(-0.5, http_requests))', 0, '50m', '5m', [['{}', '6+0x10']]),
      rng('count(limit_ratio(0.5, http_requests) and limit_ratio(-0.5, http_requests))', 0, '50m', '5m', []),
      rng('count(limit_ratio(time() % 17/17, http_requests) or limit_ratio( - (1.0 - (time() % 17/17)), http_requests))', 0, '50m', '5m', [['{}', '6+0x10']]),
      rng('count(limit_ratio(time() % 17/17, http_requests) and limit_ratio( - (1.0 - (time() % 17/17)), http_requests))', 0, '50m', '5m', []),
      rng('count(limit_ratio(scalar(bar), http_requests))', 0, '50m', '5m', [['{}', '_ 6 _ 6 _ 6 _ 6 _ 6 _']]),
      fails('limitk(NaN, non_existent)', '50m', 'Parameter value is NaN'),
      fails('limit_ratio(NaN, non_existent)', '50m', 'Ratio value is NaN'),
    ],
  },
];

for (const b of blocks) {
  describe(`aggregations: ${b.name}`, () => {
    const h = harness(load(b.interval ?? '5m', b.load ?? ''), b.engine);
    for (const c of b.cases) it(caseName(c), () => runCase(h, c));
  });
}
