/**
 * Processor implementations by name. A topology names `processor: <name>`; the registry supplies the factory.
 * This is how a new processor becomes "a file and a line of config" (DESIGN.md §1).
 */
import type { ProcessorFactory } from './processor.ts';

export class ProcessorRegistry {
  readonly #factories = new Map<string, ProcessorFactory>();

  register(name: string, factory: ProcessorFactory): this {
    if (this.#factories.has(name)) throw new Error(`processor implementation "${name}" is registered twice`);
    this.#factories.set(name, factory);
    return this;
  }

  has(name: string): boolean {
    return this.#factories.has(name);
  }

  get(name: string): ProcessorFactory {
    const factory = this.#factories.get(name);
    if (!factory) {
      const known = [...this.#factories.keys()].sort().join(', ') || 'none';
      throw new Error(`no processor implementation named "${name}" (registered: ${known})`);
    }
    return factory;
  }

  names(): string[] {
    return [...this.#factories.keys()].sort();
  }
}
