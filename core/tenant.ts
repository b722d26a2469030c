// Tenancy: X-Scope-OrgID, as Cortex, Mimir and Loki use it. A query may name
// several tenants joined by "|"; writes take exactly one.
import { FleetwatchError } from './errors.ts';

const TENANT_RE = /^[a-zA-Z0-9!\-_.*'()]{1,150}$/;

export interface TenantOptions {
  readonly defaultTenant: string;
  readonly requireTenant: boolean;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h;
}

/** The tenants a request names (one for writes, one or more for reads). */
export function tenantsOf(header: string | string[] | undefined, opts: TenantOptions): string[] {
  const raw = headerValue(header)?.trim();
  if (!raw) {
    if (opts.requireTenant) throw new FleetwatchError('FW_ERR_TENANT_MISSING');
    return [opts.defaultTenant];
  }
  const ids = raw.split('|').map((s) => s.trim());
  for (const id of ids) {
    if (!TENANT_RE.test(id) || id === '.' || id === '..') throw new FleetwatchError('FW_ERR_TENANT_INVALID', `"${id}": use 1-150 of [a-zA-Z0-9!-_.*'()]`);
  }
  return [...new Set(ids)];
}

export function writeTenantOf(header: string | string[] | undefined, opts: TenantOptions): string {
  const ids = tenantsOf(header, opts);
  if (ids.length !== 1) throw new FleetwatchError('FW_ERR_TENANT_INVALID', 'a write names exactly one tenant');
  return ids[0] as string;
}
