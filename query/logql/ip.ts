// ip("...") matching for line and label filters: a single address, a CIDR
// or an inclusive a-b range, IPv4 or IPv6.
// https://grafana.com/docs/loki/latest/query/ip/
import { isIPv4, isIPv6 } from './parse.ts';

interface IpRange {
  readonly v6: boolean;
  readonly lo: bigint;
  readonly hi: bigint;
}

function ipToBig(s: string): { v6: boolean; n: bigint } | undefined {
  if (isIPv4(s)) return { v6: false, n: s.split('.').reduce((a, x) => (a << 8n) | BigInt(Number(x)), 0n) };
  if (!isIPv6(s)) return undefined;
  let t = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const n = ipToBig(v4[1] as string)!.n;
    t = t.slice(0, -(v4[1] as string).length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  return { v6: true, n: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

export function parseIpRange(p: string): IpRange | undefined {
  if (p.includes('/')) {
    const [a, bits] = p.split('/') as [string, string];
    const ip = ipToBig(a);
    if (!ip) return undefined;
    const width = ip.v6 ? 128n : 32n;
    const b = BigInt(Number(bits));
    const mask = ((1n << width) - 1n) ^ ((1n << (width - b)) - 1n);
    const lo = ip.n & mask;
    return { v6: ip.v6, lo, hi: lo | ((1n << (width - b)) - 1n) };
  }
  if (p.includes('-')) {
    const [a, b] = p.split('-') as [string, string];
    const x = ipToBig(a);
    const y = ipToBig(b);
    if (!x || !y || x.v6 !== y.v6) return undefined;
    return { v6: x.v6, lo: x.n, hi: y.n };
  }
  const ip = ipToBig(p);
  return ip ? { v6: ip.v6, lo: ip.n, hi: ip.n } : undefined;
}

function inRange(r: IpRange, s: string): boolean {
  const ip = ipToBig(s);
  return !!ip && ip.v6 === r.v6 && ip.n >= r.lo && ip.n <= r.hi;
}

const V4_RUN = /[0-9.]+/g;
const V6_RUN = /[0-9a-fA-F:.]+/g;

/** Whether any address-looking token in `text` falls in the pattern. */
export function ipFilter(r: IpRange, text: string): boolean {
  const re = r.v6 ? V6_RUN : V4_RUN;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const tok = m[0];
    if (r.v6 ? tok.includes(':') && inRange(r, tok) : inRange(r, tok)) return true;
  }
  return false;
}

/** A label value that is exactly an address in the pattern. */
export function ipLabelMatch(r: IpRange, value: string): boolean {
  return inRange(r, value.trim());
}
