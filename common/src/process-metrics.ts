// prom-client's process_* and nodejs_* families on a registry, minus the three gauges whose
// names end in _total (nodejs_active_{handles,requests,resources}_total): `promtool check
// metrics` rejects a non-counter with that suffix, and each is the sum of the labelled
// nodejs_active_* gauge that stays.
import { collectDefaultMetrics, type Registry } from 'prom-client';

const MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
