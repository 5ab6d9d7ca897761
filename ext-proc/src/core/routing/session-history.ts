// Each live session's latest exchange (the request's messages after its system prompt,
// and the generated output), so the cache manager can warm the next agent with its system
// prompt plus the history it will carry. Within a byte budget (least recently updated
// sessions go first) and a per-session bound; never logged; it leaves the process only in
// warm requests to our own endpoints.

export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

export interface HistoryEntry {
  readonly model: string;
  /** The latest request's messages after its leading system message, then the output. */
  readonly messages: readonly ChatMessage[];
}

export class SessionHistory {
  private readonly entries = new Map<string, { entry: HistoryEntry; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly maxSessionBytes: number,
  ) {}

  private static key(workflow: string, session: string): string {
    return `${workflow}\u0000${session}`;
  }

  /** Records a completed exchange (chat requests with plain-text messages only). */
  record(
    workflow: string,
    session: string,
    model: string,
    json: Record<string, unknown>,
    output: string,
  ): void {
    const key = SessionHistory.key(workflow, session);
    const messages = json['messages'];
    if (!Array.isArray(messages)) return;
    const kept: ChatMessage[] = [];
    let chars = output.length;
    for (const [i, m] of messages.entries()) {
      const msg = m as { role?: unknown; content?: unknown };
      if (typeof msg.role !== 'string' || typeof msg.content !== 'string') return;
      if (i === 0 && msg.role === 'system') continue;
      kept.push({ role: msg.role, content: msg.content });
      chars += msg.content.length;
    }
    kept.push({ role: 'assistant', content: output });
    const bytes = chars * 2;
    this.forget(key);
    if (bytes > this.maxSessionBytes) return;
    this.entries.set(key, { entry: { model, messages: kept }, bytes });
    this.bytes += bytes;
    while (this.bytes > this.budgetBytes) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  get(workflow: string, session: string): HistoryEntry | undefined {
    return this.entries.get(SessionHistory.key(workflow, session))?.entry;
  }

  drop(workflow: string, session: string): void {
    this.forget(SessionHistory.key(workflow, session));
  }

  private forget(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.bytes;
  }

  get sizeBytes(): number {
    return this.bytes;
  }
}
