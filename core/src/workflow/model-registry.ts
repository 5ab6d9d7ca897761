// The workflow models in force on this replica, as published by the profiler. A model
// replaces the current one only if its version is newer (watch events may repeat).
import { IndexedModel } from './predictor.js';
import type { WorkflowModel } from './workflow-model.js';

export class ModelRegistry {
  private readonly models = new Map<string, IndexedModel>();

  /** Returns true when the model was taken. */
  set(model: WorkflowModel): boolean {
    const current = this.models.get(model.workflow);
    if (current && current.model.version >= model.version) return false;
    this.models.set(model.workflow, new IndexedModel(model));
    return true;
  }

  delete(workflow: string): void {
    this.models.delete(workflow);
  }

  get(workflow: string): IndexedModel | undefined {
    return this.models.get(workflow);
  }

  all(): IterableIterator<IndexedModel> {
    return this.models.values();
  }

  get size(): number {
    return this.models.size;
  }
}
