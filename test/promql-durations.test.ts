// Duration expressions (Prometheus 3's promql-duration-expr: arithmetic,
// step(), range(), min_of, max_of in ranges, subquery steps and offsets) and
// the precedence of offset against binary operators. Cases re-express
// Prometheus's duration_expression.test.
import { describe, it } from 'vitest';
import { harness, inst, load, rng, fails, runCase, caseName, type Block } from './helpers/promql.ts';

const CHANGES = [
  ['{path="/foo"}', 3],
  ['{path="/bar"}', 4],
  ['{path="/biz"}', 0],
] as const;

const blocks: Block[] = [
  {
    name: 'arithmetic in range durations',
    interval: '5m',
    load: `
      http_requests{path="/foo"} 1 2 3 0 1 0 0 1 2 0
      http_requests{path="/bar"} 1 2 3 4 5 1 2 3 4 5
      http_requests{path="/biz"} 0 0 0 0 0 1 1 1 1 1`,
    cases: [
      ...[
        '30m',
        '26m+4m',
        '30m+0s',
        '1800',
        '60*30',
        '2m*15',
        '2m*(10+5)',
        '29m+60s',
        '24m+((1.5*2m)+2m)',
        '-5m+35m',
        '1h/2',
        '1h30m % 1h',
        '30m1s-30m1s % 1m',
        '(9m30s+30s)*3',
      ].map((d) => inst(`changes(http_requests[${d}])`, '50m', CHANGES)),
      fails('changes(http_requests[5m-10m])', '50m', '22:28: duration must be greater than 0', 'bad_data'),
    ],
  },
  {
    name: 'duration expressions in subqueries and offsets; offset precedence',
    interval: '10s',
    load: 'metric1_total 0+1x1000',
    cases: [
      inst('sum_over_time(metric1_total[29s+1s:5s+5s])', '1000s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms])', '1000s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[29s+1s:20*500ms] offset (20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms)))', '1200s', [['{}', 297]]),
      inst('sum_over_time(metric1_total[29s+1s:20*500ms] offset -(20*(((((8 - 2) / 3) * 7s) % 4) + 8000ms)))', '800s', [['{}', 297]]),
      inst('metric1_total offset (100 + 2)', '1000s', [['metric1_total', 89]]),
      // without parentheses only the number is the offset
      inst('metric1_total offset 100 + 2', '1000s', [['{}', 92]]),
      inst('(metric1_total offset 2) ^ 2', '1002s', [['{}', 10000]]),
      inst('metric1_total offset 2 ^ 2', '1002s', [['{}', 10000]]),
      inst('metric1_total offset -2 ^ 2', '998s', [['{}', 10000]]),
      inst('metric1_total offset (2 ^ 2)', '1000s', [['metric1_total', 99]]),
      inst('metric1_total offset (2 * 2)', '1000s', [['metric1_total', 99]]),
      inst('metric1_total offset -2 * 2', '1000s', [['{}', 200]]),
      inst('metric1_total offset (-2 * 2)', '1000s', [['metric1_total', 100]]),
      inst('metric1_total offset -4', '1000s', [['metric1_total', 100]]),
      inst('metric1_total offset (-2 ^ 2)', '1000s', [['metric1_total', 100]]),
    ],
  },
  {
    name: 'step(), range(), min_of, max_of',
    interval: '1s',
    load: 'metric1_total 0+1x100',
    cases: [
      rng('count_over_time(metric1_total[step()])', '50s', '60s', '10s', [['{}', '10 10']]),
      rng('count_over_time(metric1_total[step()+1ms])', '50s', '60s', '10s', [['{}', '11 11']]),
      rng('count_over_time(metric1_total[(step())+1])', '50s', '60s', '10s', [['{}', '11 11']]),
      rng('count_over_time(metric1_total[step()+1])', '50s', '60s', '5s', [['{}', '6 6 6']]),
      rng('count_over_time(metric1_total[min_of(step()+1,1h)])', '50s', '60s', '5s', [['{}', '6 6 6']]),
      rng('count_over_time(metric1_total[max_of(min_of(step()+1,1h),1ms)])', '50s', '60s', '5s', [['{}', '6 6 6']]),
      rng('count_over_time(metric1_total[((max_of(min_of((step()+1),((1h))),1ms)))])', '50s', '60s', '5s', [['{}', '6 6 6']]),
      rng('metric1_total offset step()', '50s', '60s', '5s', [['metric1_total', '45 50 55']]),
      rng('metric1_total offset step()*0', '50s', '60s', '5s', [['{}', '0 0 0']]),
      rng('metric1_total offset (-step()*2)', '50s', '60s', '5s', [['metric1_total', '60 65 70']]),
      rng('metric1_total offset -step()*2', '50s', '60s', '5s', [['{}', '110 120 130']]),
      rng('metric1_total offset step()^0', '50s', '60s', '5s', [['{}', '1 1 1']]),
      rng('metric1_total offset (step()/10)', '50s', '60s', '5s', [['metric1_total', '49 54 59']]),
      rng('metric1_total offset (step())', '50s', '60s', '5s', [['metric1_total', '45 50 55']]),
      rng('metric1_total offset min_of(step(), 1s)', '50s', '60s', '5s', [['metric1_total', '49 54 59']]),
      rng('metric1_total offset min_of(step(), 1s)+8000', '50s', '60s', '5s', [['{}', '8049 8054 8059']]),
      rng('metric1_total offset -min_of(step(), 1s)+8000', '50s', '60s', '5s', [['{}', '8051 8056 8061']]),
      rng('metric1_total offset -(min_of(step(), 1s))+8000', '50s', '60s', '5s', [['{}', '8051 8056 8061']]),
      rng('metric1_total offset max_of(3s,min_of(step(), 1s))+8000', '50s', '60s', '5s', [['{}', '8047 8052 8057']]),
      rng('metric1_total offset -(min_of(step(), 2s)-5)+8000', '50s', '60s', '5s', [['{}', '8047 8052 8057']]),
      rng('count_over_time(metric1_total[range()])', '50s', '60s', '10s', [['{}', '10 10']]),
      rng('count_over_time(metric1_total[range()])', '50s', '60s', '5s', [['{}', '10 10 10']]),
      rng('metric1_total offset range()', '50s', '60s', '5s', [['metric1_total', '40 45 50']]),
      rng('metric1_total offset min_of(range(), 8s)', '50s', '60s', '5s', [['metric1_total', '42 47 52']]),
      // an instant query has range() 0
      inst('metric1_total offset range()', '50s', [['metric1_total', 50]]),
      // a range of step() is 0 in an instant query: not a valid range
      fails('count_over_time(metric1_total[step()])', '50s', /duration must be greater than 0/, 'bad_data'),
    ],
  },
];

for (const b of blocks) {
  describe(`durations: ${b.name}`, () => {
    const h = harness(load(b.interval ?? '5m', b.load ?? ''), b.engine);
    for (const c of b.cases) it(caseName(c), () => runCase(h, c));
  });
}
