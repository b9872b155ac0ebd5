/** Identities issued by this server (in memory: they live as long as the process). */
import { randomUUID } from 'node:crypto';

export class IdentityStore {
  readonly #identities = new Map<string, { createdAt: number }>();

  create(): string {
    const id = `8:backchannel:${randomUUID()}`;
    this.#identities.set(id, { createdAt: Date.now() });
    return id;
  }

  has(id: string): boolean {
    return this.#identities.has(id);
  }

  delete(id: string): boolean {
    return this.#identities.delete(id);
  }

  get size(): number {
    return this.#identities.size;
  }
}
