import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';

// TypeBox checks only the formats it is told about; frames use these (REST uses ajv-formats).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));

/** Compiled once per frame schema: fast checks on the socket path, with a readable first error. */
export class FrameValidator<T extends TSchema> {
  readonly #check: TypeCheck<T>;
  constructor(readonly schema: T) {
    this.#check = TypeCompiler.Compile(schema);
  }

  /** The value if it fits, else the first problem as text. */
  parse(value: unknown): { ok: true; value: Static<T> } | { ok: false; error: string } {
    if (this.#check.Check(value)) return { ok: true, value: value as Static<T> };
    const first = this.#check.Errors(value).First();
    const path = first?.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : 'frame';
    return { ok: false, error: `${path}: ${first?.message ?? 'invalid'}` };
  }
}

/** JSON.parse that never throws and refuses what is not an object. */
export function parseFrame(raw: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
