// core: configuration, errors, tenancy, labels, metrics and the HTTP shell
// shared by every role.
export { loadConfig, flagHelp, configReference, envName, parseDurationMs, splitHostPort, CONFIG_SCHEMA } from './config.ts';
export type { Config, ConfigSources, ConfigKey } from './config.ts';
export { FleetwatchError, isFleetwatchError, ERROR_CATALOG } from './errors.ts';
export type { ErrorCode, Result } from './errors.ts';
export { tenantsOf, writeTenantOf } from './tenant.ts';
export type { TenantOptions } from './tenant.ts';
export { fingerprint, fingerprintParts, hashBytes64, sortLabels, labelsToRecord, labelsFromRecord } from './labels.ts';
export type { Labels } from './labels.ts';
export { createRegistry, counter, gauge, histogram } from './metrics.ts';
export type { MetricsRegistry } from './metrics.ts';
export { createHttpApp, toFleetwatchError } from './http.ts';
export { startSelfTracing } from './self-tracing.ts';
export { silentLogger } from './logger.ts';
export type { Logger } from './logger.ts';
