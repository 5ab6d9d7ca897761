// What each agent role's requests start with (its system prompt), learned from observed
// requests so the cache manager can warm it before the agent's next call; and which model
// the role uses. Held in memory within entry, byte (overhead included) and idle bounds
// (least recently seen go first), never logged; it leaves the process only in warm
// requests to our own endpoints.
import { BoundedMap } from '../../../../core/src/bounded/bounded-map.js';
import type { Bounds } from '../../../../core/src/bounded/bounds.js';
import { stringBytes } from '../../../../core/src/bounded/memory-cost.js';

export interface AgentPrompt {
  readonly model: string;
  readonly system: string;
}

/** Measured fixed cost of one entry besides its strings: the Map slots, slot and prompt objects. */
export const PROMPT_ENTRY_BYTES = 152;

export class AgentPrompts {
  private readonly prompts: BoundedMap<string, AgentPrompt>;

  constructor(
    bounds: Bounds,
    private readonly maxPromptBytes: number,
    now: () => number,
  ) {
    this.prompts = new BoundedMap({
      ...bounds,
      now,
      sizeOf: (key, p) =>
        PROMPT_ENTRY_BYTES + stringBytes(key) + stringBytes(p.model) + stringBytes(p.system),
    });
  }

  private static key(workflow: string, agent: string): string {
    return `${workflow}\u0000${agent}`;
  }

  /**
   * Learns from one request body (chat: its leading system message). Returns the prompt
   * when it is new or changed (the other replicas are told), else null.
   */
  observe(workflow: string, agent: string, model: string, json: Record<string, unknown>): AgentPrompt | null {
    const messages = json['messages'];
    if (!Array.isArray(messages)) return null;
    const first = messages[0] as { role?: unknown; content?: unknown } | undefined;
    if (first?.role !== 'system' || typeof first.content !== 'string') return null;
    if (first.content.length * 2 > this.maxPromptBytes) return null;
    const key = AgentPrompts.key(workflow, agent);
    const old = this.prompts.get(key);
    if (old && old.system === first.content && old.model === model) return null;
    const prompt = { model, system: first.content };
    this.prompts.set(key, prompt);
    return prompt;
  }

  /** A prompt another replica learned. */
  put(workflow: string, agent: string, prompt: AgentPrompt): void {
    if (prompt.system.length * 2 > this.maxPromptBytes) return;
    this.prompts.set(AgentPrompts.key(workflow, agent), { model: prompt.model, system: prompt.system });
  }

  get(workflow: string, agent: string): AgentPrompt | undefined {
    return this.prompts.peek(AgentPrompts.key(workflow, agent));
  }

  get size(): number {
    return this.prompts.size;
  }

  get sizeBytes(): number {
    return this.prompts.bytes;
  }
}
