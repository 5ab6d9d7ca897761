// What each agent role's requests start with (its system prompt), learned from observed
// requests so the cache manager can warm it before the agent's next call; and which model
// the role uses. Held in memory within a byte budget (least recently seen go first), never
// logged; it leaves the process only in warm requests to our own endpoints.

export interface AgentPrompt {
  readonly model: string;
  readonly system: string;
}

export class AgentPrompts {
  private readonly prompts = new Map<string, AgentPrompt>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxPromptBytes: number,
  ) {}

  private static key(workflow: string, agent: string): string {
    return `${workflow}\u0000${agent}`;
  }

  /** Learns from one request body (chat: its leading system message). */
  observe(workflow: string, agent: string, model: string, json: Record<string, unknown>): void {
    const messages = json['messages'];
    if (!Array.isArray(messages)) return;
    const first = messages[0] as { role?: unknown; content?: unknown } | undefined;
    if (first?.role !== 'system' || typeof first.content !== 'string') return;
    if (first.content.length * 2 > this.maxPromptBytes) return;
    const key = AgentPrompts.key(workflow, agent);
    const old = this.prompts.get(key);
    if (old && old.system === first.content && old.model === model) {
      this.prompts.delete(key);
      this.prompts.set(key, old);
      return;
    }
    if (old) this.bytes -= old.system.length * 2;
    this.prompts.delete(key);
    this.prompts.set(key, { model, system: first.content });
    this.bytes += first.content.length * 2;
    while (this.bytes > this.budgetBytes) {
      const [oldestKey, oldest] = this.prompts.entries().next().value ?? [];
      if (oldestKey === undefined || !oldest) break;
      this.prompts.delete(oldestKey);
      this.bytes -= oldest.system.length * 2;
    }
  }

  get(workflow: string, agent: string): AgentPrompt | undefined {
    return this.prompts.get(AgentPrompts.key(workflow, agent));
  }

  get sizeBytes(): number {
    return this.bytes;
  }
}
