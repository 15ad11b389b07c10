import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema, type Static } from '@sinclair/typebox';

// TypeBox checks only the formats it is told about; frames use these (REST uses ajv-formats).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));

/** A frame that does not fit its schema: answered with an error frame, the socket kept. */
export class FrameError extends Error {}

/** A validator for each frame schema, under the same names. */
export function frameValidators<M extends Record<string, TSchema>>(schemas: M): { [K in keyof M]: FrameValidator<M[K]> } {
  return Object.fromEntries(Object.entries(schemas).map(([k, s]) => [k, new FrameValidator(s)])) as { [K in keyof M]: FrameValidator<M[K]> };
}

/**
 * Compiled once per frame schema, at its first frame (every dialect's schemas compiled at start
 * slowed each restart): fast checks on the socket path, with a readable first error.
 */
export class FrameValidator<T extends TSchema> {
  #compiled: TypeCheck<T> | undefined;
  constructor(readonly schema: T) {}

  get #check(): TypeCheck<T> {
    return (this.#compiled ??= TypeCompiler.Compile(this.schema));
  }

  /** The frame's `data` object (000/001/002 wrap their fields in it), or a FrameError. */
  data(frame: Record<string, unknown>): Static<T> {
    return this.#orThrow(frame, frame.data ?? {});
  }

  /** A flat frame (003/004 put fields beside `type`); a {type, data:{…}} envelope works too. */
  flat(frame: Record<string, unknown>): Static<T> {
    const d = frame.data;
    return this.#orThrow(frame, d && typeof d === 'object' && !Array.isArray(d) ? { ...frame, ...(d as object) } : frame);
  }

  #orThrow(frame: Record<string, unknown>, body: unknown): Static<T> {
    const r = this.parse(body);
    if (!r.ok) throw new FrameError(`Invalid ${String(frame.type).slice(0, 64)} frame: ${r.error}`);
    return r.value;
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
