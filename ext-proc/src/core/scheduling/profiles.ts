// The scheduling profiles: `pythia` for proactive workflows, the rest as the reactive
// default and as baselines for the bench. Weights are ours; the EPP-style `prefix-aware`
// mirrors the Gateway API Inference Extension's default (prefix 3, queue 2, KV 2).
import type { ProfileName } from '../../../../common/src/config/schema.js';
import { decodeLoadScorer } from './plugins/decode-load-scorer.js';
import { headroomScorer } from './plugins/headroom-scorer.js';
import { healthyFilter } from './plugins/healthy-filter.js';
import { historyAffinityScorer } from './plugins/history-affinity-scorer.js';
import { kvFeasibilityFilter } from './plugins/kv-feasibility-filter.js';
import { kvUsageScorer } from './plugins/kv-usage-scorer.js';
import { leastRequestScorer } from './plugins/least-request-scorer.js';
import { maxScorePicker } from './plugins/max-score-picker.js';
import { prefixAffinityScorer } from './plugins/prefix-affinity-scorer.js';
import { queueScorer } from './plugins/queue-scorer.js';
import { roundRobinPicker } from './plugins/round-robin-picker.js';
import { sessionAffinityScorer } from './plugins/session-affinity-scorer.js';
import type { Profile } from './types.js';

/** Least outstanding requests among healthy endpoints: the reactive baseline. */
export const leastRequestProfile: Profile = {
  name: 'least-request',
  filters: [healthyFilter],
  scorers: [{ scorer: leastRequestScorer, weight: 1 }],
  picker: maxScorePicker,
};

export function buildProfile(name: ProfileName): Profile {
  switch (name) {
    case 'least-request':
      return leastRequestProfile;
    case 'round-robin':
      return { name, filters: [healthyFilter], scorers: [], picker: roundRobinPicker() };
    case 'prefix-aware':
      return {
        name,
        filters: [healthyFilter],
        scorers: [
          { scorer: prefixAffinityScorer, weight: 3 },
          { scorer: queueScorer, weight: 2 },
          { scorer: kvUsageScorer, weight: 2 },
        ],
        picker: maxScorePicker,
      };
    case 'session-affinity':
      return {
        name,
        filters: [healthyFilter],
        scorers: [
          { scorer: sessionAffinityScorer, weight: 10 },
          { scorer: leastRequestScorer, weight: 1 },
        ],
        picker: maxScorePicker,
      };
    case 'pythia':
      return {
        name,
        filters: [healthyFilter, kvFeasibilityFilter],
        scorers: [
          { scorer: headroomScorer, weight: 2 },
          { scorer: prefixAffinityScorer, weight: 3 },
          { scorer: historyAffinityScorer, weight: 2 },
          { scorer: queueScorer, weight: 1 },
          { scorer: decodeLoadScorer, weight: 1 },
        ],
        picker: maxScorePicker,
      };
  }
}
