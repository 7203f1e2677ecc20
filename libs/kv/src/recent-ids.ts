/*
 * A bounded memory of recently freed sequence ids, so a second Free (or a late step) of
 * a sequence can be told apart from a typo: "was already freed" vs "unknown".
 * Deliberately approximate: after `capacity` newer frees the oldest id is forgotten and
 * reported as unknown, which is still an error, just a less specific one.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(readonly capacity = 65536) {}

  add(id: string): void {
    this.ids.delete(id);
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
  }

  clear(): void {
    this.ids.clear();
  }
}
