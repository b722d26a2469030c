// Who a collector is. With auth.clusterTokens set, a collector must present
// `Authorization: Bearer <token>`; the token names its cluster (and tenant),
// so one cluster cannot write or heartbeat as another, and anything else is
// answered 401. Without tokens (a trusted network, tests) the cluster comes
// from the X-Fleetwatch-Cluster header and the tenant from X-Scope-OrgID.
//
// auth.clusterTokens items: "cluster=token" (tenant: tenancy.defaultTenant)
// or "tenant/cluster=token".
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { FleetwatchError, writeTenantOf, type Config } from '../core/index.ts';

export interface ClusterIdentity {
  readonly tenant: string;
  readonly cluster: string;
}

export interface ClusterAuth {
  /** true when tokens are configured */
  readonly enabled: boolean;
  /** The identity a request carries; throws FW_ERR_AUTH_UNAUTHORIZED (401) otherwise. */
  identify(req: FastifyRequest): ClusterIdentity;
}

const CLUSTER_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export function isValidClusterName(name: string): boolean {
  return CLUSTER_RE.test(name);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function createClusterAuth(config: Config): ClusterAuth {
  // keyed by the token's hash: a lookup does not compare secrets byte by byte
  const byDigest = new Map<string, { identity: ClusterIdentity; digest: Buffer }>();
  for (const item of config.auth.clusterTokens) {
    const eq = item.indexOf('=');
    const who = eq > 0 ? item.slice(0, eq).trim() : '';
    const token = eq > 0 ? item.slice(eq + 1).trim() : '';
    const slash = who.indexOf('/');
    const tenant = slash >= 0 ? who.slice(0, slash) : config.tenancy.defaultTenant;
    const cluster = slash >= 0 ? who.slice(slash + 1) : who;
    if (!CLUSTER_RE.test(cluster) || !TENANT_RE.test(tenant) || token.length < 8) {
      throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `auth.clusterTokens item for ${JSON.stringify(who)}: expected [tenant/]cluster=token with a token of at least 8 characters`);
    }
    const d = digest(token);
    if (byDigest.has(d.toString('hex'))) throw new FleetwatchError('FW_ERR_CONFIG_INVALID', `auth.clusterTokens: two clusters share a token (${cluster})`);
    byDigest.set(d.toString('hex'), { identity: { tenant, cluster }, digest: d });
  }
  const enabled = byDigest.size > 0;
  return {
    enabled,
    identify(req) {
      if (enabled) {
        const h = req.headers.authorization;
        const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
        if (!m) throw new FleetwatchError('FW_ERR_AUTH_UNAUTHORIZED', 'send Authorization: Bearer <cluster token>');
        const d = digest(m[1] as string);
        const hit = byDigest.get(d.toString('hex'));
        if (!hit || !timingSafeEqual(hit.digest, d)) throw new FleetwatchError('FW_ERR_AUTH_UNAUTHORIZED', 'unknown cluster token');
        return hit.identity;
      }
      const c = req.headers['x-fleetwatch-cluster'];
      const cluster = (Array.isArray(c) ? c[0] : c)?.trim() ?? '';
      if (!CLUSTER_RE.test(cluster)) throw new FleetwatchError('FW_ERR_AUTH_UNAUTHORIZED', 'send X-Fleetwatch-Cluster with the cluster name (1-128 of [A-Za-z0-9._-])');
      return { tenant: writeTenantOf(req.headers['x-scope-orgid'], config.tenancy), cluster };
    },
  };
}
