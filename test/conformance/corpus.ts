// The PromQL conformance corpus: queries over the data set of
// test/helpers/promql-data.ts generateSeries (http_requests_total counters
// with resets, gaps and staleness; temperature_celsius gauges;
// request_duration_seconds_bucket classic histograms; a sparse
// batch_last_success_seconds), covering every operator, aggregation and
// function. Each query runs as an instant query at two times and, when it
// yields an instant vector or scalar, as a range query.

const C = 'http_requests_total';
const G = 'temperature_celsius';
const H = 'request_duration_seconds_bucket';
const S = 'batch_last_success_seconds';

const selectors = [
  C,
  `${C}{job="api"}`,
  `${C}{job!="api"}`,
  `${C}{instance=~"api-.*"}`,
  `${C}{instance!~"api-[01].*"}`,
  `${C}{code=~"5.."}`,
  `${C}{job="api",code="200",cluster="eu"}`,
  `{__name__=~"http_requests_total|temperature_celsius"}`,
  `{__name__=~"temp.*",job="db"}`,
  `{job="batch"}`,
  `${G}{cluster=""}`,
  `${G}{cluster!=""}`,
  `${G}{nonexistent=""}`,
  `${G}{job=~"api|db",cluster=~"e.*"}`,
  `${G} offset 10m`,
  `${G} offset -5m`,
  `${C} offset 1h`,
  `${G} @ end()`,
  `${G} @ start()`,
  `${G} @ 100 offset 5m`,
  `${S}`,
  `nonexistent_metric`,
];

const ranges = ['1m', '5m', '10m', '1h'];
const counterFns = ['rate', 'increase', 'irate', 'resets', 'changes'];
const gaugeFns = ['delta', 'idelta', 'deriv', 'changes', 'resets'];
const overTime = ['avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'present_over_time', 'stddev_over_time', 'stdvar_over_time'];

const rangeFunctions: string[] = [];
for (const f of counterFns) for (const r of ranges) rangeFunctions.push(`${f}(${C}[${r}])`);
for (const f of gaugeFns) for (const r of ['5m', '15m']) rangeFunctions.push(`${f}(${G}[${r}])`);
for (const f of overTime) for (const m of [G, C]) rangeFunctions.push(`${f}(${m}[10m])`);
rangeFunctions.push(
  `rate(${C}{job="api"}[5m] offset 10m)`,
  `rate(${C}[5m] @ end())`,
  `increase(${C}[1h] @ start())`,
  `rate(${H}[5m])`,
  `rate(${S}[10m])`,
  `rate(${S}[30m])`,
  `delta(${S}[30m])`,
  `last_over_time(${S}[10m])`,
  `count_over_time(${S}[1h])`,
  `quantile_over_time(0.5, ${G}[10m])`,
  `quantile_over_time(0.9, ${C}[15m])`,
  `quantile_over_time(0, ${G}[10m])`,
  `quantile_over_time(1, ${G}[10m])`,
  `predict_linear(${G}[10m], 600)`,
  `predict_linear(${C}[15m], 3600)`,
  `deriv(${C}[10m])`,
  `absent_over_time(${G}[5m])`,
  `absent_over_time(nonexistent_metric[5m])`,
  `absent_over_time(${G}{job="nope"}[5m])`,
  `present_over_time(${S}[5m])`,
  `irate(${C}[30s])`,
  `mad_over_time(${G}[10m])`,
  `rate(${C}[20s])`,
  `holt_winters(${G}[10m], 0.5, 0.5)`,
  `double_exponential_smoothing(${G}[10m], 0.5, 0.5)`,
);

const aggregations: string[] = [];
for (const op of ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar']) {
  aggregations.push(`${op}(${G})`, `${op} by (job) (${G})`, `${op} without (instance) (rate(${C}[5m]))`);
}
aggregations.push(
  `sum by (job, code) (rate(${C}[5m]))`,
  `sum by (cluster) (increase(${C}[10m]))`,
  `sum without (instance, code) (${C})`,
  `sum by (__name__) ({__name__=~"http_requests_total|temperature_celsius"})`,
  `sum by (nonexistent) (${G})`,
  `count by (le) (${H})`,
  `avg by (cluster) (irate(${C}[1m]))`,
  `max by (job) (delta(${G}[10m]))`,
  `min without () (${G})`,
  `topk(3, ${G})`,
  `topk(2, rate(${C}[5m])) by (job)`,
  `bottomk(3, ${G})`,
  `bottomk by (cluster) (1, ${G})`,
  `topk(0, ${G})`,
  `topk(100, ${G})`,
  `quantile(0.5, ${G})`,
  `quantile by (job) (0.9, rate(${C}[5m]))`,
  `quantile(0, ${G})`,
  `quantile(1.5, ${G})`,
  `count_values("value", round(${G}))`,
  `count_values by (job) ("code", ${C} > 10000)`,
  `count_values("x", ${S} > 0)`,
  `limitk(2, ${G})`,
  `limit_ratio(0.5, ${G})`,
  `sum(sum by (job) (${G}))`,
  `avg(avg by (cluster, job) (${G}))`,
  `sum by (job) (rate(${C}[5m])) / ignoring(job) group_left sum(rate(${C}[5m]))`,
  `stddev by (job) (rate(${C}[5m]))`,
  `count(${C} offset 30m)`,
  `group without (code) (${C})`,
  `sum(${S})`,
  `max(${S})`,
);

const binary: string[] = [];
for (const op of ['+', '-', '*', '/', '%', '^', 'atan2']) {
  binary.push(`${G} ${op} 2`, `2 ${op} ${G}`, `rate(${C}[5m]) ${op} on(cluster, job, instance, code) rate(${C}[10m])`);
}
for (const op of ['==', '!=', '>', '<', '>=', '<=']) {
  binary.push(`${G} ${op} 20`, `${G} ${op} bool 20`, `20 ${op} bool ${G}`, `${G} ${op} ${G} offset 5m`);
}
binary.push(
  `1 + 2 * 3`,
  `2 ^ 3 ^ 2`,
  `(1 + 2) * 3 - 4 / 8 % 3`,
  `-${G}`,
  `+${G}`,
  `- - ${G}`,
  `1 == bool 1`,
  `1 > bool 2`,
  `0 / 0`,
  `1 / 0`,
  `-1 / 0`,
  `5 % -3`,
  `${G} / 0`,
  `${C} and ${C}{job="api"}`,
  `${C} or ${G}`,
  `${C} unless ${C}{code="500"}`,
  `${C} and on(job) ${G}{cluster="eu"}`,
  `${G} unless on(cluster) ${G}{cluster="us"}`,
  `${G} or on(job) vector(1)`,
  `rate(${C}[5m]) / on(cluster, job, instance) group_left ${G}`,
  `${G} * on(cluster, job, instance) group_right rate(${C}[5m])`,
  `rate(${C}[5m]) * ignoring(code) group_left ${G}`,
  `sum by (job) (rate(${C}[5m])) / on(job) group_left sum by (job) (${G})`,
  `sum by (cluster, job) (${G}) / on(cluster) group_left(job) sum by (cluster) (${G})`,
  `${G} + on(cluster, job, instance) group_left(code) ${C}`,
  `${G} > on(job, cluster, instance) ${G} offset 10m`,
  `${G} - ignoring(job) ${G}`,
  `vector(1) + vector(2)`,
  `vector(time()) - time()`,
  `scalar(sum(${G})) * ${G}`,
  `${C} == bool on(cluster, job, instance, code) ${C} offset 1m`,
  `(${G} > 10) + 1`,
  `${G} > 10 < 40`,
  `sum(${G}) > 100`,
  `sum(${G}) > bool 100`,
  `${C} / ${C}`,
  `${G} ^ 0.5`,
  `${C} % 7`,
  `atan2(${G}, 3)`,
);

const mathFns = ['abs', 'ceil', 'floor', 'exp', 'ln', 'log2', 'log10', 'sqrt', 'sgn', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad'];
const instantFunctions: string[] = [];
for (const f of mathFns) instantFunctions.push(`${f}(${G})`);
for (const f of ['asin', 'acos', 'atanh']) instantFunctions.push(`${f}(${G} / 100)`);
instantFunctions.push(
  `round(${G})`,
  `round(${G}, 5)`,
  `round(${G}, 0.1)`,
  `round(-2.5)`,
  `round(2.5)`,
  `clamp(${G}, 0, 30)`,
  `clamp(${G}, 30, 0)`,
  `clamp_min(${G}, 10)`,
  `clamp_max(${G}, 10)`,
  `pi()`,
  `time()`,
  `timestamp(${G})`,
  `timestamp(${G} offset 5m)`,
  `timestamp(rate(${C}[5m]))`,
  `vector(42)`,
  `vector(time())`,
  `scalar(${G})`,
  `scalar(sum(${G}))`,
  `scalar(vector(5))`,
  `absent(nonexistent_metric)`,
  `absent(nonexistent_metric{job="x",instance=~"y"})`,
  `absent(${G})`,
  `absent(sum(nonexistent_metric))`,
  `label_replace(${G}, "dst", "$1-x", "instance", "(.*):.*")`,
  `label_replace(${G}, "job", "", "job", ".*")`,
  `label_replace(${G}, "dst", "$2", "instance", "(.*)")`,
  `label_replace(${G}, "instance", "x", "nonexistent", "(.*)")`,
  `label_join(${G}, "dst", "-", "cluster", "job", "instance")`,
  `label_join(${G}, "dst", ",")`,
  `sort(${G})`,
  `sort_desc(${G})`,
  `sort(rate(${C}[5m]))`,
  `sort_by_label(${G}, "instance")`,
  `sort_by_label_desc(${G}, "job", "instance")`,
  `histogram_quantile(0.5, rate(${H}[5m]))`,
  `histogram_quantile(0.99, sum by (le) (rate(${H}[5m])))`,
  `histogram_quantile(0.9, sum by (le, job) (rate(${H}[10m])))`,
  `histogram_quantile(0, sum by (le) (rate(${H}[5m])))`,
  `histogram_quantile(1, sum by (le) (rate(${H}[5m])))`,
  `histogram_quantile(1.5, sum by (le) (rate(${H}[5m])))`,
  `histogram_quantile(0.5, sum by (le, cluster) (${H}))`,
  `histogram_fraction(0, 0.5, sum by (le) (rate(${H}[5m])))`,
  `histogram_count(rate(${H}[5m]))`,
  `histogram_sum(rate(${H}[5m]))`,
  `histogram_avg(rate(${H}[5m]))`,
  `histogram_stddev(rate(${H}[5m]))`,
  `histogram_stdvar(rate(${H}[5m]))`,
  `day_of_month()`,
  `day_of_week()`,
  `day_of_year()`,
  `days_in_month()`,
  `hour()`,
  `minute()`,
  `month()`,
  `year()`,
  `hour(timestamp(${G}))`,
  `minute(${S})`,
  `day_of_week(vector(86400 * 3))`,
  `days_in_month(vector(1709251200))`,
  `year(vector(0))`,
  `month(vector(1700000000))`,
  `exp(vector(1000))`,
  `ln(vector(0))`,
  `sqrt(vector(-1))`,
  `sgn(${G} - 20)`,
  `ceil(rate(${C}[5m]))`,
  `abs(delta(${G}[10m]))`,
);

const subqueries = [
  `max_over_time(rate(${C}[5m])[30m:1m])`,
  `min_over_time(${G}[20m:2m])`,
  `avg_over_time(sum by (job) (rate(${C}[5m]))[1h:5m])`,
  `rate(${C}[5m:30s])`,
  `sum_over_time(${G}[10m:])`,
  `count_over_time(${G}[10m:45s])`,
  `max_over_time(${G}[30m:1m] offset 10m)`,
  `max_over_time(deriv(${G}[5m])[15m:1m])`,
  `quantile_over_time(0.9, rate(${C}[5m])[30m:2m])`,
  `last_over_time(${G}[10m:1m] @ end())`,
  `stddev_over_time(sum(${G})[30m:1m])`,
  `present_over_time(${S}[30m:1m])`,
  `changes(${G}[30m:1m])`,
  `irate(sum(${C})[10m:1m])`,
  `absent_over_time(nonexistent_metric[10m:1m])`,
  `max_over_time(max_over_time(${G}[5m:1m])[15m:5m])`,
  `avg_over_time(vector(1)[5m:1m])`,
  `sum_over_time((${G} > 20)[15m:1m])`,
];

const misc = [
  `1`,
  `-1.5`,
  `0x10`,
  `1e3`,
  `Inf`,
  `-Inf`,
  `NaN`,
  `"a string"`,
  `(${G})`,
  `((${G} + 1))`,
  `${G}[5m]`,
  `${C}{job="api"}[1m]`,
  `${G}[5m] offset 1m`,
  `${G}[10m:1m]`,
  `rate(${C}[5m])[10m:1m]`,
  `sum(rate(${C}[5m])) by (job) * 60`,
  `sum(increase(${C}[1h])) / 3600`,
  `count(count by (job) (${C}))`,
  `topk(1, sum by (job) (rate(${C}[5m])))`,
  `100 * (1 - avg by (cluster) (rate(${C}{code="500"}[5m])) / avg by (cluster) (rate(${C}[5m])))`,
  `sum by (job) (rate(${C}{code=~"5.."}[5m])) / sum by (job) (rate(${C}[5m]))`,
  `max_over_time(${G}[1h]) - min_over_time(${G}[1h])`,
  `${G} - ${G} offset 1h`,
  `avg_over_time(${G}[5m]) > bool 20`,
  `sum(rate(${C}[5m])) > 0`,
  `time() - timestamp(${S})`,
  `time() - ${S}`,
  `sum(up)`,
  `nonexistent_metric + 1`,
  `sum(nonexistent_metric)`,
  `rate(nonexistent_metric[5m])`,
  `label_replace(vector(1), "a", "b", "", "")`,
  `sum by (a) (label_replace(${G}, "a", "$1", "job", "(a).*"))`,
  // errors: both sides must fail the same way
  `sum(`,
  `rate(${G})`,
  `${G} + on(job) ${G}`,
  `label_replace(${G}, "invalid-name", "x", "job", ".*")`,
  `topk("x", ${G})`,
  `${G}{}`,
  `{job=~".*"}`,
];

export const CORPUS: readonly string[] = [...new Set([...selectors, ...rangeFunctions, ...aggregations, ...binary, ...instantFunctions, ...subqueries, ...misc])];

/**
 * Differences between the local oracle (Prometheus 2.42) and the semantics
 * fleetwatch follows (Prometheus 3.x), with why. A listed query that
 * matches anyway counts as a pass; one that differs counts as a listed
 * difference, not a failure of the pass rate.
 */
export const KNOWN_DIFFERENCES: ReadonlyMap<string, string> = new Map([
  [`holt_winters(${G}[10m], 0.5, 0.5)`, 'Prometheus 3.0 renamed holt_winters to double_exponential_smoothing (experimental); 2.42 has only holt_winters'],
  [`double_exponential_smoothing(${G}[10m], 0.5, 0.5)`, 'added in Prometheus 3.0 (renamed from holt_winters); unknown to 2.42'],
  [`limitk(2, ${G})`, 'limitk was added in Prometheus 2.54 (experimental); unknown to 2.42'],
  [`limit_ratio(0.5, ${G})`, 'limit_ratio was added in Prometheus 2.54 (experimental); unknown to 2.42'],
  [`sort_by_label(${G}, "instance")`, 'sort_by_label was added in Prometheus 2.47 (experimental); unknown to 2.42'],
  [`sort_by_label_desc(${G}, "job", "instance")`, 'sort_by_label_desc was added in Prometheus 2.47 (experimental); unknown to 2.42'],
  [`histogram_fraction(0, 0.5, sum by (le) (rate(${H}[5m])))`, 'histogram_fraction works on classic histograms only since Prometheus 3.x; 2.42 knows it for native histograms only'],
  [`histogram_avg(rate(${H}[5m]))`, 'histogram_avg was added in Prometheus 2.50; unknown to 2.42'],
  [`histogram_stddev(rate(${H}[5m]))`, 'histogram_stddev was added in Prometheus 2.46; unknown to 2.42'],
  [`histogram_stdvar(rate(${H}[5m]))`, 'histogram_stdvar was added in Prometheus 2.46; unknown to 2.42'],
  [`mad_over_time(${G}[10m])`, 'mad_over_time was added in Prometheus 3.0 (experimental); unknown to 2.42'],
  [`${G} atan2 2`, 'Prometheus 3.x drops the metric name for atan2 like for every arithmetic operator (promqltest operators.test); 2.42 kept it'],
  [`2 atan2 ${G}`, 'Prometheus 3.x drops the metric name for atan2 like for every arithmetic operator (promqltest operators.test); 2.42 kept it'],
  [`label_replace(${G}, "invalid-name", "x", "job", ".*")`, 'Prometheus 3.x accepts any UTF-8 label name (utf8 name validation is the default); 2.42 rejects "invalid-name"'],
  [
    `max_over_time(max_over_time(${G}[5m:1m])[15m:5m])`,
    'Prometheus 3.0 made ranges left-open: the inner subquery, evaluated on the outer one\'s 5m grid, no longer includes its point exactly 5m back, which 2.42 includes',
  ],
]);
