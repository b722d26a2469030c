// fleetwatch's own metrics (prom-client), served at /metrics. One registry per
// process; components register their metrics here by name.
import client from 'prom-client';

export type MetricsRegistry = client.Registry;

export function createRegistry(role: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ role });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export function counter(registry: client.Registry, name: string, help: string, labelNames: readonly string[] = []): client.Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Counter<string>;
  return new client.Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
}

/** A gauge; with `read`, its value is read at scrape time. */
export function gauge(registry: client.Registry, name: string, help: string, labelNames: readonly string[] = [], read?: () => number): client.Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    ...(read
      ? {
          collect(this: client.Gauge<string>) {
            this.set(read());
          },
        }
      : {}),
  });
}

export function histogram(registry: client.Registry, name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): client.Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Histogram<string>;
  return new client.Histogram({ name, help, labelNames: [...labelNames], registers: [registry], ...(buckets ? { buckets } : {}) });
}
