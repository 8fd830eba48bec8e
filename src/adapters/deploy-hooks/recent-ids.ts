/**
 * The ids of the context events the webhooks delivered lately, so a redelivery (GitHub's
 * "Redeliver" button, Argo CD's retry after a timeout) is answered as a duplicate instead of
 * recording the same change twice. Bounded: the oldest id is forgotten first. Not persisted: a
 * redelivery after a restart is recorded again, which costs a repeated event, not a wrong one.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 10_000) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    // A Set iterates in insertion order: its first entry is the oldest.
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
  }
}
