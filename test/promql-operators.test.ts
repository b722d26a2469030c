// Binary and unary operators and vector matching, table-driven. Semantics
// follow the Prometheus documentation (querying/operators) and the cases of
// Prometheus's promql/promqltest/testdata/operators.test, re-expressed here.
import { describe, expect, it } from 'vitest';
import { harness, inst, load, rng, fails, runCase, caseName, type Block } from './helpers/promql.ts';

const HTTP = `
  http_requests_total{job="api-server", instance="0", group="production"} 0+10x10
  http_requests_total{job="api-server", instance="1", group="production"} 0+20x10
  http_requests_total{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests_total{job="api-server", instance="1", group="canary"} 0+40x10
  http_requests_total{job="app-server", instance="0", group="production"} 0+50x10
  http_requests_total{job="app-server", instance="1", group="production"} 0+60x10
  http_requests_total{job="app-server", instance="0", group="canary"} 0+70x10
  http_requests_total{job="app-server", instance="1", group="canary"} 0+80x10
  vector_matching_a{l="x"} 0+1x100
  vector_matching_a{l="y"} 0+2x50
  vector_matching_b{l="x"} 0+4x25`;

const ALL_HTTP_AT_50M: Array<[string, number]> = [
  ['http_requests_total{group="canary", instance="0", job="api-server"}', 300],
  ['http_requests_total{group="canary", instance="0", job="app-server"}', 700],
  ['http_requests_total{group="canary", instance="1", job="api-server"}', 400],
  ['http_requests_total{group="canary", instance="1", job="app-server"}', 800],
  ['http_requests_total{group="production", instance="0", job="api-server"}', 100],
  ['http_requests_total{group="production", instance="0", job="app-server"}', 500],
  ['http_requests_total{group="production", instance="1", job="api-server"}', 200],
  ['http_requests_total{group="production", instance="1", job="app-server"}', 600],
];

const blocks: Block[] = [
  {
    name: 'arithmetic and precedence',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('SUM(http_requests_total) BY (job) - COUNT(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 996], ['{job="app-server"}', 2596]]),
      inst('2 - SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', -998], ['{job="app-server"}', -2598]]),
      // unary minus drops the name, unary plus keeps it
      inst('-http_requests_total{job="api-server",instance="0",group="production"}', '50m', [['{job="api-server",instance="0",group="production"}', -100]]),
      inst('+http_requests_total{job="api-server",instance="0",group="production"}', '50m', [['http_requests_total{job="api-server",instance="0",group="production"}', 100]]),
      inst('- - - SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', -1000], ['{job="app-server"}', -2600]]),
      inst('- - - 1', '50m', -1),
      // ^ binds tighter than unary minus, and is right-associative
      inst('-2^---1*3', '50m', -1.5),
      inst('2/-2^---1*3+2', '50m', -10),
      inst('-10^3 * - SUM(http_requests_total) BY (job) ^ -1', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 0.38461538461538464]]),
      inst('1000 / SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 0.38461538461538464]]),
      inst('SUM(http_requests_total) BY (job) % 3', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 2]]),
      inst('SUM(http_requests_total) BY (job) % 0.3', '50m', [['{job="api-server"}', 0.1], ['{job="app-server"}', 0.2]]),
      inst('SUM(http_requests_total) BY (job) ^ 2', '50m', [['{job="api-server"}', 1000000], ['{job="app-server"}', 6760000]]),
      inst('SUM(http_requests_total) BY (job) % 3 ^ 2', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 8]]),
      inst('SUM(http_requests_total) BY (job) % 2 ^ (3 ^ 2)', '50m', [['{job="api-server"}', 488], ['{job="app-server"}', 40]]),
      inst('SUM(http_requests_total) BY (job) % 2 ^ 3 ^ 2', '50m', [['{job="api-server"}', 488], ['{job="app-server"}', 40]]),
      inst('SUM(http_requests_total) BY (job) % 2 ^ 3 ^ 2 ^ 2', '50m', [['{job="api-server"}', 1000], ['{job="app-server"}', 2600]]),
      inst('COUNT(http_requests_total) BY (job) ^ COUNT(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 256], ['{job="app-server"}', 256]]),
      inst('SUM(http_requests_total) BY (job) / 0', '50m', [['{job="api-server"}', Infinity], ['{job="app-server"}', Infinity]]),
      inst('-1 * http_requests_total{group="canary", instance="0", job="api-server"} / 0', '50m', [['{group="canary", instance="0", job="api-server"}', -Infinity]]),
      inst('0 * http_requests_total{group="canary", instance="0", job="api-server"} / 0', '50m', [['{group="canary", instance="0", job="api-server"}', NaN]]),
      inst('0 * http_requests_total{group="canary", instance="0", job="api-server"} % 0', '50m', [['{group="canary", instance="0", job="api-server"}', NaN]]),
      inst('SUM(http_requests_total) BY (job) + SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 2000], ['{job="app-server"}', 5200]]),
      inst('(SUM((http_requests_total)) BY (job)) + SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 2000], ['{job="app-server"}', 5200]]),
      inst('http_requests_total{job="api-server", group="canary"} + rate(http_requests_total{job="api-server"}[10m]) * 5 * 60', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 330],
        ['{group="canary", instance="1", job="api-server"}', 440],
      ]),
      inst('(rate((http_requests_total[25m])) * 25) * 60', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 150],
        ['{group="canary", instance="0", job="app-server"}', 350],
        ['{group="canary", instance="1", job="api-server"}', 200],
        ['{group="canary", instance="1", job="app-server"}', 400],
        ['{group="production", instance="0", job="api-server"}', 50],
        ['{group="production", instance="0", job="app-server"}', 249.99999999999997],
        ['{group="production", instance="1", job="api-server"}', 100],
        ['{group="production", instance="1", job="app-server"}', 300],
      ]),
      // scalar arithmetic, Go math semantics
      inst('2 ^ 10', 0, 1024),
      inst('1 ^ NaN', 0, 1),
      inst('(-1) ^ Inf', 0, 1),
      inst('NaN ^ 0', 0, 1),
      inst('-7 % 3', 0, -1),
      inst('7 % -3', 0, 1),
      inst('5 % Inf', 0, 5),
      inst('Inf % 5', 0, NaN),
      inst('1 / 0', 0, Infinity),
      inst('-1 / 0', 0, -Infinity),
      inst('0 / 0', 0, NaN),
      inst('10 atan2 20', '1m', 0.4636476090008061),
      inst('10 atan2 NaN', '1m', NaN),
      inst('0x10 + 010 + 1e1', 0, 16 + 8 + 10),
      inst('5m + 1', 0, 301),
    ],
  },
  {
    name: 'set operators',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('http_requests_total{group="canary"} and http_requests_total{instance="0"}', '50m', [
        ['http_requests_total{group="canary", instance="0", job="api-server"}', 300],
        ['http_requests_total{group="canary", instance="0", job="app-server"}', 700],
      ]),
      // and ignores the metric name by default
      inst('(http_requests_total{group="canary"} + 1) and http_requests_total{instance="0"}', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
      ]),
      inst('(http_requests_total{group="canary"} + 1) and on(instance, job) http_requests_total{instance="0", group="production"}', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
      ]),
      inst('(http_requests_total{group="canary"} + 1) and on(instance) http_requests_total{instance="0", group="production"}', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
      ]),
      inst('(http_requests_total{group="canary"} + 1) and ignoring(group) http_requests_total{instance="0", group="production"}', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
      ]),
      inst('http_requests_total{group="canary"} or http_requests_total{group="production"}', '50m', ALL_HTTP_AT_50M),
      // on overlap the right side is dropped
      inst('(http_requests_total{group="canary"} + 1) or http_requests_total{instance="1"}', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
        ['{group="canary", instance="1", job="api-server"}', 401],
        ['{group="canary", instance="1", job="app-server"}', 801],
        ['http_requests_total{group="production", instance="1", job="api-server"}', 200],
        ['http_requests_total{group="production", instance="1", job="app-server"}', 600],
      ]),
      // matching on instance keeps right-side series that have no instance label
      inst('(http_requests_total{group="canary"} + 1) or on(instance) (http_requests_total or cpu_count or vector_matching_a)', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
        ['{group="canary", instance="1", job="api-server"}', 401],
        ['{group="canary", instance="1", job="app-server"}', 801],
        ['vector_matching_a{l="x"}', 10],
        ['vector_matching_a{l="y"}', 20],
      ]),
      inst('(http_requests_total{group="canary"} + 1) or ignoring(l, group, job) (http_requests_total or cpu_count or vector_matching_a)', '50m', [
        ['{group="canary", instance="0", job="api-server"}', 301],
        ['{group="canary", instance="0", job="app-server"}', 701],
        ['{group="canary", instance="1", job="api-server"}', 401],
        ['{group="canary", instance="1", job="app-server"}', 801],
        ['vector_matching_a{l="x"}', 10],
        ['vector_matching_a{l="y"}', 20],
      ]),
      inst('http_requests_total{group="canary"} unless http_requests_total{instance="0"}', '50m', [
        ['http_requests_total{group="canary", instance="1", job="api-server"}', 400],
        ['http_requests_total{group="canary", instance="1", job="app-server"}', 800],
      ]),
      inst('http_requests_total{group="canary"} unless on(job) http_requests_total{instance="0"}', '50m', []),
      inst('http_requests_total{group="canary"} unless on(job, instance) http_requests_total{instance="0"}', '50m', [
        ['http_requests_total{group="canary", instance="1", job="api-server"}', 400],
        ['http_requests_total{group="canary", instance="1", job="app-server"}', 800],
      ]),
      inst('http_requests_total{group="canary"} unless ignoring(group, instance) http_requests_total{instance="0"}', '50m', []),
      inst('http_requests_total{group="canary"} unless ignoring(group) http_requests_total{instance="0"}', '50m', [
        ['http_requests_total{group="canary", instance="1", job="api-server"}', 400],
        ['http_requests_total{group="canary", instance="1", job="app-server"}', 800],
      ]),
      inst('http_requests_total AND ON (dummy) vector(1)', '50m', ALL_HTTP_AT_50M),
      inst('http_requests_total AND IGNORING (group, instance, job) vector(1)', '50m', ALL_HTTP_AT_50M),
      inst('http_requests_total and on() (vector(-1) == 1)', '50m', []),
      inst('http_requests_total or nonexistent', '50m', ALL_HTTP_AT_50M),
      inst('nonexistent or http_requests_total', '50m', ALL_HTTP_AT_50M),
      inst('http_requests_total unless nonexistent', '50m', ALL_HTTP_AT_50M),
      inst('http_requests_total and nonexistent', '50m', []),
    ],
  },
  {
    name: 'one-to-one matching',
    interval: '5m',
    load: HTTP,
    cases: [
      // on(...) keeps only the matching labels
      inst('http_requests_total{group="canary"} / on(instance,job) http_requests_total{group="production"}', '50m', [
        ['{instance="0", job="api-server"}', 3],
        ['{instance="0", job="app-server"}', 1.4],
        ['{instance="1", job="api-server"}', 2],
        ['{instance="1", job="app-server"}', 1.3333333333333333],
      ]),
      inst('http_requests_total{group="canary"} / ignoring(group) http_requests_total{group="production"}', '50m', [
        ['{instance="0", job="api-server"}', 3],
        ['{instance="0", job="app-server"}', 1.4],
        ['{instance="1", job="api-server"}', 2],
        ['{instance="1", job="app-server"}', 1.3333333333333333],
      ]),
      // series without a partner vanish
      inst('vector_matching_a - vector_matching_b', '50m', [['{l="x"}', -30]]),
      inst('vector_matching_a{l="x"} + on(l) vector_matching_b', '50m', [['{l="x"}', 50]]),
      fails('http_requests_total / on(job) http_requests_total', '50m', /^found duplicate series for the match group \{job="api-server"\} on the right hand-side of the operation: \[/, 'execution'),
      fails('http_requests_total{instance="0"} / on(job) http_requests_total{group="canary",instance="1"}', '50m', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)', 'execution'),
    ],
  },
  {
    name: 'comparisons',
    interval: '5m',
    load: HTTP,
    cases: [
      inst('SUM(http_requests_total) BY (job) > 1000', '50m', [['{job="app-server"}', 2600]]),
      inst('1000 < SUM(http_requests_total) BY (job)', '50m', [['{job="app-server"}', 2600]]),
      inst('SUM(http_requests_total) BY (job) <= 1000', '50m', [['{job="api-server"}', 1000]]),
      inst('SUM(http_requests_total) BY (job) != 1000', '50m', [['{job="app-server"}', 2600]]),
      inst('SUM(http_requests_total) BY (job) == 1000', '50m', [['{job="api-server"}', 1000]]),
      inst('SUM(http_requests_total) BY (job) == bool 1000', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 0]]),
      inst('SUM(http_requests_total) BY (job) == bool SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 1], ['{job="app-server"}', 1]]),
      inst('SUM(http_requests_total) BY (job) != bool SUM(http_requests_total) BY (job)', '50m', [['{job="api-server"}', 0], ['{job="app-server"}', 0]]),
      inst('0 == bool 1', '50m', 0),
      inst('1 == bool 1', '50m', 1),
      inst('2 >= bool 1', '50m', 1),
      inst('NaN != bool NaN', '50m', 1),
      // a comparison keeps the name, bool drops it
      inst('http_requests_total{job="api-server", instance="0", group="production"} == 100', '50m', [['http_requests_total{job="api-server", instance="0", group="production"}', 100]]),
      inst('http_requests_total{job="api-server", instance="0", group="production"} == bool 100', '50m', [['{job="api-server", instance="0", group="production"}', 1]]),
      // scalar on the left: the vector's value is kept
      inst('150 < http_requests_total{instance="0", group="production"}', '50m', [['http_requests_total{job="app-server", instance="0", group="production"}', 500]]),
    ],
  },
  {
    name: 'comparisons over time, with gaps, staleness, NaN and Inf',
    interval: '6m',
    load: `
      left_floats 1 2 _ _ 3 stale 4 5 NaN Inf -Inf
      right_floats 4 _ _ 5 3 7 -1 20 NaN Inf -Inf`,
    cases: [
      rng('left_floats == right_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ _ _ _ Inf -Inf']]),
      rng('left_floats == bool right_floats', 0, '60m', '6m', [['{}', '0 _ _ _ 1 _ 0 0 0 1 1']]),
      rng('left_floats == does_not_match', 0, '60m', '6m', []),
      rng('left_floats != right_floats', 0, '60m', '6m', [['left_floats', '1 _ _ _ _ _ 4 5 NaN _ _']]),
      rng('left_floats != bool right_floats', 0, '60m', '6m', [['{}', '1 _ _ _ 0 _ 1 1 1 0 0']]),
      rng('left_floats > right_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ _ _ 4 _ _ _ _']]),
      rng('left_floats > bool right_floats', 0, '60m', '6m', [['{}', '0 _ _ _ 0 _ 1 0 0 0 0']]),
      rng('left_floats >= right_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ 4 _ _ Inf -Inf']]),
      rng('left_floats >= bool right_floats', 0, '60m', '6m', [['{}', '0 _ _ _ 1 _ 1 0 0 1 1']]),
      rng('left_floats < right_floats', 0, '60m', '6m', [['left_floats', '1 _ _ _ _ _ _ 5 _ _ _']]),
      rng('left_floats < bool right_floats', 0, '60m', '6m', [['{}', '1 _ _ _ 0 _ 0 1 0 0 0']]),
      rng('left_floats <= right_floats', 0, '60m', '6m', [['left_floats', '1 _ _ _ 3 _ _ 5 _ Inf -Inf']]),
      rng('left_floats <= bool right_floats', 0, '60m', '6m', [['{}', '1 _ _ _ 1 _ 0 1 0 1 1']]),
      rng('left_floats == 3', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ _ _ _ _ _']]),
      rng('left_floats != 3', 0, '60m', '6m', [['left_floats', '1 2 _ _ _ _ 4 5 NaN Inf -Inf']]),
      rng('left_floats > 3', 0, '60m', '6m', [['left_floats', '_ _ _ _ _ _ 4 5 _ Inf _']]),
      rng('left_floats >= 3', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ 4 5 _ Inf _']]),
      rng('left_floats < 3', 0, '60m', '6m', [['left_floats', '1 2 _ _ _ _ _ _ _ _ -Inf']]),
      rng('left_floats <= 3', 0, '60m', '6m', [['left_floats', '1 2 _ _ 3 _ _ _ _ _ -Inf']]),
      rng('left_floats == bool 3', 0, '60m', '6m', [['{}', '0 0 _ _ 1 _ 0 0 0 0 0']]),
      rng('left_floats == Inf', 0, '60m', '6m', [['left_floats', '_ _ _ _ _ _ _ _ _ Inf _']]),
      rng('left_floats == bool Inf', 0, '60m', '6m', [['{}', '0 0 _ _ 0 _ 0 0 0 1 0']]),
      rng('left_floats == NaN', 0, '60m', '6m', []),
      rng('left_floats == bool NaN', 0, '60m', '6m', [['{}', '0 0 _ _ 0 _ 0 0 0 0 0']]),
      rng('3 == left_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ _ _ _ _ _']]),
      rng('3 != left_floats', 0, '60m', '6m', [['left_floats', '1 2 _ _ _ _ 4 5 NaN Inf -Inf']]),
      rng('3 < left_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ _ _ 4 5 _ Inf _']]),
      rng('3 <= left_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ 3 _ 4 5 _ Inf _']]),
      rng('3 > left_floats', 0, '60m', '6m', [['left_floats', '1 2 _ _ _ _ _ _ _ _ -Inf']]),
      rng('3 >= left_floats', 0, '60m', '6m', [['left_floats', '1 2 _ _ 3 _ _ _ _ _ -Inf']]),
      rng('3 == bool left_floats', 0, '60m', '6m', [['{}', '0 0 _ _ 1 _ 0 0 0 0 0']]),
      rng('Inf == left_floats', 0, '60m', '6m', [['left_floats', '_ _ _ _ _ _ _ _ _ Inf _']]),
      rng('NaN == left_floats', 0, '60m', '6m', []),
      rng('NaN == bool left_floats', 0, '60m', '6m', [['{}', '0 0 _ _ 0 _ 0 0 0 0 0']]),
    ],
  },
  {
    name: 'many-to-one and one-to-many matching',
    interval: '5m',
    load: `
      node_var{instance="abc",job="node"} 2
      node_role{instance="abc",job="node",role="prometheus"} 1
      node_cpu{instance="abc",job="node",mode="idle"} 3
      node_cpu{instance="abc",job="node",mode="user"} 1
      node_cpu{instance="def",job="node",mode="idle"} 8
      node_cpu{instance="def",job="node",mode="user"} 2
      random{foo="bar"} 1
      other_cpu{instance="abc",job="node",mode="idle"} 5
      threshold{instance="abc",job="node",target="a@b.com"} 0
      many_side{label="foo",job="test"} 0
      many_side{label="bar",job="test"} 1
      one_side{job="test"} 1`,
    cases: [
      // group_x copies labels from the "one" side
      inst('node_role * on (instance) group_right (role) node_var', '1m', [['{instance="abc",job="node",role="prometheus"}', 2]]),
      inst('node_var * on (instance) group_left (role) node_role', '1m', [['{instance="abc",job="node",role="prometheus"}', 2]]),
      inst('node_var * ignoring (role) group_left (role) node_role', '1m', [['{instance="abc",job="node",role="prometheus"}', 2]]),
      inst('node_role * ignoring (role) group_right (role) node_var', '1m', [['{instance="abc",job="node",role="prometheus"}', 2]]),
      inst('node_cpu * ignoring (role, mode) group_left (role) node_role', '1m', [
        ['{instance="abc",job="node",mode="idle",role="prometheus"}', 3],
        ['{instance="abc",job="node",mode="user",role="prometheus"}', 1],
      ]),
      inst('node_cpu * on (instance) group_left (role) node_role', '1m', [
        ['{instance="abc",job="node",mode="idle",role="prometheus"}', 3],
        ['{instance="abc",job="node",mode="user",role="prometheus"}', 1],
      ]),
      // ratio of a total
      inst('node_cpu / on (instance) group_left sum by (instance,job)(node_cpu)', '1m', [
        ['{instance="abc",job="node",mode="idle"}', 0.75],
        ['{instance="abc",job="node",mode="user"}', 0.25],
        ['{instance="def",job="node",mode="idle"}', 0.8],
        ['{instance="def",job="node",mode="user"}', 0.2],
      ]),
      inst('sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu)', '1m', [['{job="node",mode="idle"}', 0.7857142857142857], ['{job="node",mode="user"}', 0.21428571428571427]]),
      inst('sum(sum by (mode, job)(node_cpu) / on (job) group_left sum by (job)(node_cpu))', '1m', [['{}', 1]]),
      inst('node_cpu / ignoring (mode) group_left sum without (mode)(node_cpu)', '1m', [
        ['{instance="abc",job="node",mode="idle"}', 0.75],
        ['{instance="abc",job="node",mode="user"}', 0.25],
        ['{instance="def",job="node",mode="idle"}', 0.8],
        ['{instance="def",job="node",mode="user"}', 0.2],
      ]),
      // a label missing on the one side is not copied
      inst('node_cpu / ignoring (mode) group_left(dummy) sum without (mode)(node_cpu)', '1m', [
        ['{instance="abc",job="node",mode="idle"}', 0.75],
        ['{instance="abc",job="node",mode="user"}', 0.25],
        ['{instance="def",job="node",mode="idle"}', 0.8],
        ['{instance="def",job="node",mode="user"}', 0.2],
      ]),
      inst('sum without (instance)(node_cpu) / ignoring (mode) group_left sum without (instance, mode)(node_cpu)', '1m', [['{job="node",mode="idle"}', 0.7857142857142857], ['{job="node",mode="user"}', 0.21428571428571427]]),
      inst('node_cpu + on(dummy) group_left(foo) random*0', '1m', [
        ['{instance="abc",job="node",mode="idle",foo="bar"}', 3],
        ['{instance="abc",job="node",mode="user",foo="bar"}', 1],
        ['{instance="def",job="node",mode="idle",foo="bar"}', 8],
        ['{instance="def",job="node",mode="user",foo="bar"}', 2],
      ]),
      // comparisons keep the metric name of the many side
      inst('node_cpu > on(job, instance) group_left(target) threshold', '1m', [
        ['node_cpu{instance="abc",job="node",mode="idle",target="a@b.com"}', 3],
        ['node_cpu{instance="abc",job="node",mode="user",target="a@b.com"}', 1],
      ]),
      inst('node_cpu > on(job, instance) group_left(target) (threshold or on (job, instance) (sum by (job, instance)(node_cpu) * 0 + 1))', '1m', [
        ['node_cpu{instance="abc",job="node",mode="idle",target="a@b.com"}', 3],
        ['node_cpu{instance="abc",job="node",mode="user",target="a@b.com"}', 1],
        ['node_cpu{instance="def",job="node",mode="idle"}', 8],
        ['node_cpu{instance="def",job="node",mode="user"}', 2],
      ]),
      // group_right: the value of a comparison is the left (one) side's
      inst('threshold < on(job, instance) group_right node_cpu', '1m', [
        ['node_cpu{instance="abc",job="node",mode="idle"}', 0],
        ['node_cpu{instance="abc",job="node",mode="user"}', 0],
      ]),
      // many-to-one errors are raised even when the comparison filters the samples out
      fails('many_side > on(job) one_side', 0, 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'),
      fails('many_side >= on(job) one_side', 0, 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'),
      fails('many_side <= on(job) one_side', 0, 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)'),
      // duplicates on the "one" side of group_right are reported as the left side
      fails(
        'many_side * on(job) group_right one_side',
        0,
        'found duplicate series for the match group {job="test"} on the left hand-side of the operation: [{__name__="many_side", job="test", label="bar"}, {__name__="many_side", job="test", label="foo"}];many-to-many matching not allowed: matching labels must be unique on one side',
      ),
      // two many-side series that differ only by name give the same output
      fails('{__name__=~"node_cpu|other_cpu"} * on(job) group_left node_var', '1m', 'multiple matches for labels: grouping labels must ensure unique matches'),
      inst('{__name__=~"node_cpu|other_cpu"} > on(job, instance) group_left node_var', '1m', [
        ['node_cpu{instance="abc",job="node",mode="idle"}', 3],
        ['other_cpu{instance="abc",job="node",mode="idle"}', 5],
      ]),
    ],
  },
  {
    name: 'binary operators drop the metric name',
    interval: '5m',
    load: `
      node_cpu{instance="abc",job="node",mode="idle"} 3
      node_cpu{instance="abc",job="node",mode="user"} 1
      node_cpu{instance="def",job="node",mode="idle"} 8
      node_cpu{instance="def",job="node",mode="user"} 2
      random{foo="bar"} 2
      metricA{baz="meh"} 3
      metricB{baz="meh"} 4
      test_total{instance="localhost"} 50
      test_smaller{instance="localhost"} 10
      trigy 10
      trigx 20
      trigNaN NaN
      dup_metric{label="alpha"} 1
      dup_metric{label="beta"} 2
      scalar_metric 3`,
    cases: [
      inst('node_cpu + 2', '1m', [['{instance="abc",job="node",mode="idle"}', 5], ['{instance="abc",job="node",mode="user"}', 3], ['{instance="def",job="node",mode="idle"}', 10], ['{instance="def",job="node",mode="user"}', 4]]),
      inst('node_cpu - 2', '1m', [['{instance="abc",job="node",mode="idle"}', 1], ['{instance="abc",job="node",mode="user"}', -1], ['{instance="def",job="node",mode="idle"}', 6], ['{instance="def",job="node",mode="user"}', 0]]),
      inst('node_cpu / 2', '1m', [['{instance="abc",job="node",mode="idle"}', 1.5], ['{instance="abc",job="node",mode="user"}', 0.5], ['{instance="def",job="node",mode="idle"}', 4], ['{instance="def",job="node",mode="user"}', 1]]),
      inst('node_cpu * 2', '1m', [['{instance="abc",job="node",mode="idle"}', 6], ['{instance="abc",job="node",mode="user"}', 2], ['{instance="def",job="node",mode="idle"}', 16], ['{instance="def",job="node",mode="user"}', 4]]),
      inst('node_cpu ^ 2', '1m', [['{instance="abc",job="node",mode="idle"}', 9], ['{instance="abc",job="node",mode="user"}', 1], ['{instance="def",job="node",mode="idle"}', 64], ['{instance="def",job="node",mode="user"}', 4]]),
      inst('node_cpu % 2', '1m', [['{instance="abc",job="node",mode="idle"}', 1], ['{instance="abc",job="node",mode="user"}', 1], ['{instance="def",job="node",mode="idle"}', 0], ['{instance="def",job="node",mode="user"}', 0]]),
      inst('random + on() metricA', '1m', [['{}', 5]]),
      inst('metricA + ignoring() metricB', '1m', [['{baz="meh"}', 7]]),
      inst('metricA + metricB', '1m', [['{baz="meh"}', 7]]),
      inst('test_total > bool test_smaller', '1m', [['{instance="localhost"}', 1]]),
      inst('test_total > test_smaller', '1m', [['test_total{instance="localhost"}', 50]]),
      inst('test_total < bool test_smaller', '1m', [['{instance="localhost"}', 0]]),
      inst('test_total < test_smaller', '1m', []),
      inst('trigy atan2 trigx', '1m', [['{}', 0.4636476090008061]]),
      inst('trigy atan2 trigNaN', '1m', [['{}', NaN]]),
      fails(
        'scalar_metric > on() dup_metric',
        0,
        'found duplicate series for the match group {} on the right hand-side of the operation: [{__name__="dup_metric", label="alpha"}, {__name__="dup_metric", label="beta"}];many-to-many matching not allowed: matching labels must be unique on one side',
      ),
    ],
  },
  {
    name: 'dropping the name merges series that do not overlap',
    interval: '20m',
    load: `
      http_requests{job="api"} 2 _
      http_errors{job="api"} _ 4`,
    cases: [
      inst('-{job="api"}', 0, [['{job="api"}', -2]]),
      inst('-{job="api"}', '20m', [['{job="api"}', -4]]),
      rng('-{job="api"}', 0, '20m', '20m', [['{job="api"}', '-2 -4']]),
      rng('{job="api"} * 2', 0, '20m', '20m', [['{job="api"}', '4 8']]),
    ],
  },
  {
    name: 'dropping the name fails when series overlap',
    interval: '1m',
    load: `
      http_requests{job="api"} 1
      http_errors{job="api"} 2
      metric_a 1 _
      metric_b 3 4`,
    cases: [
      fails('-{job="api"}', 0, 'vector cannot contain metrics with the same labelset'),
      fails('{job="api"} + 1', 0, 'vector cannot contain metrics with the same labelset'),
      fails('abs({job="api"})', 0, 'vector cannot contain metrics with the same labelset'),
    ],
  },
  {
    name: 'or of name-dropped vectors over time',
    interval: '10m',
    load: `
      metric_a 1 _
      metric_b 3 4`,
    cases: [rng('-metric_a or -metric_b', 0, '20m', '10m', [['{}', '-1 -4']])],
  },
];

for (const b of blocks) {
  describe(`operators: ${b.name}`, () => {
    const h = harness(load(b.interval ?? '5m', b.load ?? ''), b.engine);
    for (const c of b.cases) it(caseName(c), () => runCase(h, c));
  });
}

describe('operators: native-histogram bucket trimming on floats', () => {
  const h = harness(load('5m', 'm{a="1"} 1\nm{a="2"} 2\nn{a="1"} 3'));
  const info = 'PromQL info: incompatible sample types encountered for binary operator "</": float </ float (1:1)';
  it('vector </ scalar selects nothing, with an info annotation', async () => {
    await runCase(h, inst('m </ 1', 0, [], { info }));
  });
  it('vector >/ vector selects nothing, with an info annotation', async () => {
    await runCase(h, inst('m >/ n', 0, [], { info: /binary operator ">\/": float >\/ float \(1:1\)/ }));
  });
  it('scalar </ scalar is an execution error', async () => {
    await runCase(h, fails('1 </ 2', 0, 'operator "</" not allowed for Scalar operations', 'execution'));
  });
  it('prints back', async () => {
    const { exprToString, parseExpr } = await import('../query/promql/index.ts');
    expect(exprToString(parseExpr('m </ on(a) n'))).toBe('m </ on (a) n');
  });
});
