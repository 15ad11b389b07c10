/**
 * Generated bad input against every REST operation (enumerated from the running server's
 * OpenAPI document) and every frame type of every dialect's socket. Shared by the CI test
 * (test/hardening/fuzz.test.ts, short and seeded) and the full form (scripts/fuzz/main.ts).
 *
 * Every input generated here is *guaranteed* not to fit its schema (each body, query value and
 * frame is checked with Ajv against the same JSON Schema the server uses and dropped when it
 * would pass), so the server must refuse every one of them: a 4xx `{"detail"}` on REST, an
 * error frame or a documented close code on a socket, and nothing written.
 */
import http from 'node:http';
import fc from 'fast-check';
import WebSocket from 'ws';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { sql } from 'kysely';
import v8 from 'node:v8';
import vm from 'node:vm';
import { sqlStoreOf, startParley, type TestServer } from '../helpers/parley.js';
import { hasPostgres } from '../helpers/pg.js';
import * as chatSchemas from '../../src/dialects/chat/schemas.js';
import * as v1Schemas from '../../src/dialects/v1/schemas.js';
import * as notifSchemas from '../../src/dialects/notifications/schemas.js';
import { ClientFrames } from '../../src/dialects/parley/schemas.js';
import { sleep } from '../helpers/sleep.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: false, coerceTypes: false, useDefaults: false, validateFormats: true }));
const ajvCoerce = addFormats(new Ajv({ strict: false, allErrors: false, coerceTypes: true, useDefaults: false }));
const compiled = new WeakMap<object, ValidateFunction>();
const compiledCoerce = new WeakMap<object, ValidateFunction>();
/** Whether `v` fits `schema` as the server checks a JSON body or frame (no coercion). */
function fits(schema: object, v: unknown): boolean {
  let f = compiled.get(schema);
  if (!f) compiled.set(schema, (f = ajv.compile(stripIds(schema))));
  return f(structuredCloneSafe(v)) as boolean;
}
/** Whether a query/path text fits (the server coerces query strings and path params). */
function fitsCoerced(schema: object, text: string): boolean {
  let f = compiledCoerce.get(schema);
  if (!f) compiledCoerce.set(schema, (f = ajvCoerce.compile({ type: 'object', properties: { v: stripIds(schema) }, required: ['v'] })));
  return f({ v: text }) as boolean;
}
function stripIds(s: object): object {
  return JSON.parse(JSON.stringify(s, (k, v) => (k === '$id' || k === 'description' ? undefined : v)));
}
/** Values here are JSON trees (RawJson stands for text spliced in as is). */
function structuredCloneSafe(v: unknown): unknown {
  if (v instanceof RawJson) return v.value;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(structuredCloneSafe);
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) put(o, k, structuredCloneSafe((v as Record<string, unknown>)[k]));
  return o;
}

// ------------------------------------------------------------------ JSON with spliced text

/** Text put into a JSON document verbatim (deep nesting, invalid bytes), with a stand-in value for the schema check. */
export class RawJson {
  constructor(
    readonly text: string,
    readonly value: unknown,
  ) {}
}

/** JSON text of a value that may hold RawJson leaves and own `__proto__` keys. */
export function toJson(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map(toJson).join(',') + ']';
  return '{' + Object.keys(v).map((k) => JSON.stringify(k) + ':' + toJson((v as Record<string, unknown>)[k])).join(',') + '}';
}

/** Sets an own property even for `__proto__`. */
export function put(o: Record<string, unknown>, k: string, v: unknown): Record<string, unknown> {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

function withOwn(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) put(o, k, v);
  return o;
}

const deep = (levels: number, open: string, close: string, leaf = '1') => open.repeat(levels) + leaf + close.repeat(levels);
/** 10,000 levels of nested objects / arrays. */
export const DEEP_OBJECT = new RawJson(deep(10_000, '{"a":', '}'), { a: { deep: true } });
export const DEEP_ARRAY = new RawJson(deep(10_000, '[', ']'), [[1]]);

/** Values of every shape that belong in no field: the families of issue 9. */
export const NASTY: unknown[] = [
  withOwn([['$ne', null]]),
  withOwn([['$gt', '']]),
  withOwn([['$where', '1==1']]),
  withOwn([['$regex', '.*']]),
  withOwn([['__proto__', { admin: true, isAdmin: true }]]),
  withOwn([['constructor', { prototype: { admin: true } }]]),
  withOwn([['prototype', { admin: true }]]),
  [withOwn([['$ne', null]])],
  DEEP_OBJECT,
  DEEP_ARRAY,
  'x'.repeat(70_000),
  '',
  ' ',
  '\u0000',
  '../../../../etc/passwd',
  '%00',
  "' OR '1'='1",
  '1; DROP TABLE messages; --',
  '{"$ne":null}',
  '🙂'.repeat(300),
  '\ud800',
  -1,
  0,
  1.5,
  -0.5,
  1e20,
  -1e20,
  9007199254740993,
  1e308,
  true,
  false,
  null,
  [],
  [1, 2],
  {},
  'NaN',
  'Infinity',
  '1e20',
  '-1',
];

/** Whether no string of any content fits `schema` (its types, through anyOf, exclude string). */
function takesNoString(schema: any): boolean {
  if (!schema || typeof schema !== 'object') return false;
  if (schema.anyOf) return schema.anyOf.every(takesNoString);
  if (schema.oneOf) return schema.oneOf.every(takesNoString);
  const t = schema.type;
  if (t === undefined) return false;
  return Array.isArray(t) ? !t.includes('string') : t !== 'string';
}

/** An arbitrary JSON value that does not fit `schema`. */
export function wrongValue(schema: object): fc.Arbitrary<unknown> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
      { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()) },
    )
    .filter((v) => !fits(schema, v));
}

// ------------------------------------------------------------------ the world the fuzzer attacks

export interface Account {
  token: string;
  id: number;
  uuid: string;
  tenant: string;
}

/** A user who owns data: a friend, a direct conversation and a group, each with messages. */
export interface World {
  a: Account;
  b: Account;
  c: Account;
  direct: { id: number; uuid: string };
  group: { id: number; uuid: string };
  directMsg: { id: number; uuid: string };
  groupMsg: { id: number; uuid: string };
}

let userSeq = 0;
async function json(server: { url: string }, method: string, path: string, token: string | null, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function newAccount(server: { url: string }, tenantId?: string): Promise<Account> {
  const n = ++userSeq;
  const r = await json(server, 'POST', '/api/auth/register', null, {
    email: `fuzz${n}-${process.pid}-${Date.now()}@example.com`,
    password: 'password-' + n,
    name: `Fuzz ${n}`,
    ...(tenantId ? { tenant_id: tenantId } : {}),
  });
  return { token: r.access_token, id: r.user.id, uuid: r.user.uuid, tenant: r.user.tenant_id };
}

export async function buildWorld(server: { url: string }): Promise<World> {
  const a = await newAccount(server);
  const b = await newAccount(server);
  const c = await newAccount(server);
  await json(server, 'POST', '/api/friends', a.token, { user_id: b.id });
  await json(server, 'POST', '/api/friends', b.token, { user_id: a.id });
  const direct = await json(server, 'POST', '/api/parley/conversations', a.token, { kind: 'direct', user_id: b.id });
  const group = await json(server, 'POST', '/api/parley/conversations', a.token, { kind: 'group', member_ids: [b.id, c.id], title: 'fuzz group' });
  const directMsg = await json(server, 'POST', `/api/parley/conversations/${direct.id}/messages`, a.token, { content: 'hello', local_temp_id: 'fz-d' });
  const groupMsg = await json(server, 'POST', `/api/parley/conversations/${group.id}/messages`, a.token, { content: 'hello group', local_temp_id: 'fz-g' });
  await json(server, 'PUT', `/api/parley/messages/${groupMsg.id}/reactions/${encodeURIComponent('👍')}`, a.token);
  const pick = (x: { id: number; uuid: string }) => ({ id: x.id, uuid: x.uuid });
  return { a, b, c, direct: pick(direct), group: pick(group), directMsg: pick(directMsg), groupMsg: pick(groupMsg) };
}

// ------------------------------------------------------------------ counters and violations

export interface SurfaceCount {
  tried: number;
  byStatus: Record<string, number>;
  errorFrames: number;
  closes: Record<string, number>;
  accepted: number;
  fiveXX: number;
}
/**
 * Server bugs this fuzzer finds and that are not fixed yet, each pinned by its own test in
 * fuzz.test.ts. A run counts them apart (with one example each) instead of failing on them
 * again; drop an entry once its bug is fixed. Fixed so far: router refusals in Fastify's
 * own shape (now {"detail"}), truncated multipart uploads left hanging (@fastify/multipart 10).
 */
export const KNOWN_BUGS: { bug: string; match: RegExp }[] = [];

export class Tally {
  readonly surfaces = new Map<string, SurfaceCount>();
  /** Violations not explained by KNOWN_BUGS (the first 500 kept; `unknownCount` has them all). */
  readonly violations: string[] = [];
  unknownCount = 0;
  readonly known = new Map<string, { count: number; example: string }>();
  surface(name: string): SurfaceCount {
    let s = this.surfaces.get(name);
    if (!s) this.surfaces.set(name, (s = { tried: 0, byStatus: {}, errorFrames: 0, closes: {}, accepted: 0, fiveXX: 0 }));
    return s;
  }
  violation(text: string) {
    const k = KNOWN_BUGS.find((b) => b.match.test(text));
    if (k) {
      const e = this.known.get(k.bug);
      if (e) e.count++;
      else this.known.set(k.bug, { count: 1, example: text.slice(0, 400) });
      return;
    }
    this.unknownCount++;
    if (this.violations.length < 500) this.violations.push(text);
  }
  knownReport(): string {
    return [...this.known.entries()].map(([bug, { count, example }]) => `- known bug hit ${count}×: ${bug}\n    e.g. ${example}`).join('\n');
  }
  totals() {
    let tried = 0;
    let fiveXX = 0;
    let errorFrames = 0;
    const byStatus: Record<string, number> = {};
    const closes: Record<string, number> = {};
    for (const s of this.surfaces.values()) {
      tried += s.tried;
      fiveXX += s.fiveXX;
      errorFrames += s.errorFrames;
      for (const [k, v] of Object.entries(s.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.closes)) closes[k] = (closes[k] ?? 0) + v;
    }
    return { tried, fiveXX, errorFrames, byStatus, closes };
  }
  report(): string {
    const lines: string[] = [];
    for (const [name, s] of [...this.surfaces.entries()].sort()) {
      const st = Object.entries(s.byStatus).sort().map(([k, v]) => `${k}:${v}`).join(' ');
      const cl = Object.entries(s.closes).sort().map(([k, v]) => `${k}:${v}`).join(' ');
      lines.push(`${name.padEnd(92)} tried=${s.tried}${st ? ' ' + st : ''}${s.errorFrames ? ' errorFrames=' + s.errorFrames : ''}${cl ? ' closes[' + cl + ']' : ''} 5xx=${s.fiveXX}`);
    }
    const t = this.totals();
    lines.push(
      `TOTAL tried=${t.tried} ${Object.entries(t.byStatus).sort().map(([k, v]) => `${k}:${v}`).join(' ')} errorFrames=${t.errorFrames} closes[${Object.entries(t.closes)
        .sort()
        .map(([k, v]) => `${k}:${v}`)
        .join(' ')}] 5xx=${t.fiveXX} violations=${this.unknownCount} knownBugHits=${[...this.known.values()].reduce((n, k) => n + k.count, 0)}`,
    );
    return lines.join('\n');
  }
}

// ------------------------------------------------------------------ raw HTTP

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request not answered within this is a finding (the server hangs on it). */
export const REQUEST_TIMEOUT_MS = 4000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** A request with the path and body bytes exactly as given (no URL normalisation). */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path, agent, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A request the server never answers is a finding of its own (a hang holds a socket and memory).
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms`)));
    if (body) req.write(body);
    req.end();
  });
}

export function closeAgent() {
  agent.destroy();
}

// ------------------------------------------------------------------ REST operations

interface Param {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: Record<string, unknown>;
}
export interface Operation {
  method: string;
  path: string;
  params: Param[];
  body: Record<string, any> | null;
  secured: boolean;
  multipart: boolean;
}

/** Every operation of the OpenAPI document. */
export async function operations(server: { url: string }): Promise<Operation[]> {
  const doc = (await (await fetch(server.url + '/docs/json')).json()) as { paths: Record<string, Record<string, any>> };
  const ops: Operation[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const body = op.requestBody?.content?.['application/json']?.schema ?? null;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p: Param) => p.in === 'path' || p.in === 'query'),
        body,
        secured: Array.isArray(op.security) && op.security.length > 0,
        multipart: /upload|\/files$/.test(path) && method === 'post',
      });
    }
  }
  return ops;
}

const isWrite = (op: Operation) => op.method !== 'GET';

/** A valid value for a path parameter of `op`, naming the world's data. */
function baseParam(op: Operation, name: string, w: World): string {
  const p = op.path;
  if (p.startsWith('/api/friends/')) return String(w.b.id);
  if (p.startsWith('/api/notifications/')) {
    if (name === 'id' && p.includes('/messages/{id}')) return w.groupMsg.uuid;
    if (name === 'id' || name === 'conversation_id') return w.group.uuid;
    if (name === 'user_id') return w.c.uuid;
    if (name === 'message_id') return w.groupMsg.uuid;
  }
  if (p.startsWith('/api/parley/')) {
    if (name === 'emoji') return encodeURIComponent('👍');
    if (name === 'user_id') return String(w.c.id);
    if (p.startsWith('/api/parley/messages/')) return String(w.groupMsg.id);
    return String(w.group.id);
  }
  // /api/chat and /api/v1/chat (002 and 004)
  if (name === 'room_id') return String(w.direct.id);
  if (name === 'friend_id') return w.b.uuid;
  if (name === 'message_id') return p.endsWith('/read') ? w.directMsg.uuid : String(w.directMsg.id);
  return '1';
}

/** A valid value for a body property, for a base body that a mutation then breaks. */
function baseValue(schema: any, name: string, w: World): unknown {
  const s = schema.anyOf ? schema.anyOf.find((x: any) => x.type !== 'null') ?? schema.anyOf[0] : schema;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'integer':
    case 'number':
      if (/receiver|user/.test(name)) return w.b.id;
      return Math.max(1, s.minimum ?? 1);
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'string':
      if (s.format === 'uuid') return /user|receiver/.test(name) ? w.b.uuid : w.group.uuid;
      if (s.format === 'email') return 'someone@example.com';
      if (name === 'emoji') return '👍';
      if (name === 'password') return 'password-long-enough';
      return 'hello';
    default:
      return 'hello';
  }
}

function baseBody(schema: any, w: World): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of schema.required ?? []) out[k] = baseValue(schema.properties?.[k] ?? {}, k, w);
  return out;
}

/** Junk keys added beside a body's or frame's fields. */
const extraKeys = fc.array(
  fc.tuple(
    fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', '$where', '$ne', 'admin', 'role', 'tenant_id', 'user_id', 'id', 'is_admin', ''), fc.string({ maxLength: 12 })),
    fc.constantFrom(...NASTY),
  ),
  { maxLength: 3 },
);

export interface RestInput {
  family: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The server must refuse it (4xx); otherwise only < 500 and a well-formed error are required. */
  mustRefuse: boolean;
}

const INVALID_UTF8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xed, 0xa0, 0x80]);

const MALFORMED_JSON = ['{', '{"a":', '{"a":1,}', "{'a':1}", '{"a":NaN}', '{"a":1}{"b":2}', '[1,2', '\u0000', 'nul', '{"a":"\\x41"}', '{"a":undefined}', '\ufeff{"a":', '{"__proto__":'];

/** Bad path parameter values: none of them names anything. */
/** Query values that break most parameters' schemas: wrong types, out of range, too long, bad escapes. */
const BAD_QUERY = ['x', '-5', '1.5', '0', '', '1e400', '%7B%22%24ne%22%3Anull%7D', 'a'.repeat(400), 'a'.repeat(5000), '%00', '%', '9'.repeat(30)];
const BAD_PATH = ['-1', '0', '1e20', '99999999999999999999', 'x', '..%2F..%2F', '..', '%2e%2e', '1.5', '%00', '%', '%zz', 'null', 'undefined', '%7B%22%24ne%22%3Anull%7D', '__proto__', 'constructor', "1'%20OR%20'1'%3D'1", 'a'.repeat(300), '%20', '-0'];

export function restInput(op: Operation, w: World, opts: { anonymous?: boolean } = {}): fc.Arbitrary<RestInput> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const auth = (token: string | null): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const path = (over: Record<string, string> = {}, query = '') =>
    op.path.replace(/\{(\w+)\}/g, (_m, n: string) => over[n] ?? baseParam(op, n, w)) + (query ? (op.path.includes('?') ? '&' : '?') + query : '');
  const validQuery = () =>
    queryParams
      .filter((p) => p.required)
      .map((p) => `${p.name}=${encodeURIComponent(p.name === 'user_ids' ? String(w.b.id) : p.name === 'after_seq' ? '0' : p.name === 'email' || p.name === 'q' ? 'fuzz' : '1')}`)
      .join('&');
  const jsonHeaders = { 'content-type': 'application/json', ...auth(w.a.token) };
  const fams: fc.Arbitrary<RestInput>[] = [];
  const make = (family: string, p: string, headers: Record<string, string>, body: Buffer | undefined, mustRefuse: boolean): RestInput => ({
    family,
    method: op.method,
    path: p,
    headers,
    body,
    mustRefuse,
  });
  const bodyOf = (v: unknown) => Buffer.from(toJson(v), 'utf8');
  const withBody = isWrite(op) && op.body;

  if (op.body && withBody) {
    const schema = op.body;
    const props = Object.keys(schema.properties ?? {});
    // A field of the wrong type (or out of range), beside junk keys.
    if (props.length > 0) {
      fams.push(
        fc
          .tuple(fc.constantFrom(...props), extraKeys)
          .chain(([k, extras]) => wrongValue(schema.properties[k]).map((v) => ({ k, v, extras })))
          .map(({ k, v, extras }) => {
            const b = baseBody(schema, w);
            put(b, k, v);
            for (const [ek, ev] of extras) if (!props.includes(ek)) put(b, ek, ev);
            return b;
          })
          .filter((b) => !fits(schema, b))
          .map((b) => make('body.wrong_type', path({}, validQuery()), jsonHeaders, bodyOf(b), true)),
      );
      // The same, with invalid UTF-8 bytes inside a string put where a non-string belongs.
      const nonString = props.filter((k) => takesNoString(schema.properties[k]));
      if (nonString.length > 0) {
        fams.push(
          fc.constantFrom(...nonString).map((k) => {
            const b = baseBody(schema, w);
            const text = toJson(put(b, k, new RawJson('"@@@"', 'x')));
            const [pre, post] = text.split('@@@');
            return make('body.invalid_utf8', path({}, validQuery()), jsonHeaders, Buffer.concat([Buffer.from(pre), INVALID_UTF8, Buffer.from(post)]), true);
          }),
        );
      }
    }
    // A required field missing.
    const required: string[] = schema.required ?? [];
    if (required.length > 0) {
      fams.push(
        fc.tuple(fc.subarray(required, { minLength: 1 }), extraKeys).map(([drop, extras]) => {
          const b = baseBody(schema, w);
          for (const k of drop) delete b[k];
          for (const [ek, ev] of extras) if (!props.includes(ek)) put(b, ek, ev);
          return make('body.missing', path({}, validQuery()), jsonHeaders, bodyOf(b), true);
        }),
      );
      // Form-encoded strings where a non-string belongs.
      const nonString = required.filter((k) => takesNoString(schema.properties[k]));
      if (nonString.length > 0) {
        fams.push(
          fc.constantFrom(...nonString).map((k) => {
            const b = baseBody(schema, w) as Record<string, string>;
            b[k] = '{"$ne":null}';
            return make('body.form', path({}, validQuery()), { 'content-type': 'application/x-www-form-urlencoded', ...auth(w.a.token) }, Buffer.from(new URLSearchParams(b).toString()), true);
          }),
        );
      }
    }
    // Not an object at all.
    fams.push(
      fc
        .constantFrom<unknown>([], [baseBody(schema, w)], 'x', 1, null, true, DEEP_ARRAY, DEEP_OBJECT)
        .filter((v) => !fits(schema, v instanceof RawJson ? v.value : v))
        .map((v) => make('body.not_object', path({}, validQuery()), jsonHeaders, bodyOf(v), true)),
    );
  }
  if (isWrite(op)) {
    // Bodies no parser takes (for a route without a body: nothing it would ignore and run on).
    fams.push(fc.constantFrom(...MALFORMED_JSON).map((t) => make('body.malformed_json', path({}, validQuery()), jsonHeaders, Buffer.from(t), true)));
    fams.push(fc.constant(make('body.malformed_utf8', path({}, validQuery()), jsonHeaders, Buffer.concat([Buffer.from('{"content":"'), INVALID_UTF8]), true)));
    fams.push(
      fc
        .constantFrom('application/xml', 'application/octet-stream', 'image/png', 'text/html', 'application/jsonx', 'application/json-patch+json', 'x/y')
        .map((ct) => make('body.content_type', path({}, validQuery()), { 'content-type': ct, ...auth(w.a.token) }, Buffer.from(toJson(op.body ? baseBody(op.body, w) : { a: 1 })), true)),
    );
    fams.push(fc.constant(make('body.huge', path({}, validQuery()), jsonHeaders, Buffer.from(`{"content":"${'x'.repeat(1024 * 1024 + 10)}"}`), true)));
  }
  if (op.multipart) {
    fams.push(
      fc.constantFrom(...MULTIPART_BAD).map((m) => {
        const boundary = 'fuzzBoundary' + m.name.length;
        return make('multipart.' + m.kind, path({}, validQuery()), { 'content-type': m.contentType ?? `multipart/form-data; boundary=${boundary}`, ...auth(w.a.token) }, m.body(boundary), true);
      }),
    );
  }
  // A path parameter that names nothing.
  for (const p of pathParams) {
    const others = queryParams.length ? validQuery() : '';
    fams.push(
      fc
        .oneof(fc.constantFrom(...BAD_PATH), fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)))
        .filter((v) => !fitsCoerced(p.schema, safeDecode(v)) || isJunkId(v))
        .map((v) => {
          const body = op.body && isWrite(op) ? bodyOf(baseBody(op.body, w)) : undefined;
          return make('path.' + p.name, path({ [p.name]: v }, others), body ? jsonHeaders : auth(w.a.token), body, true);
        }),
    );
  }
  // A query parameter that does not fit, or a required one missing.
  for (const p of queryParams) {
    // Free text that takes any of these (a search's words, a long cursor) has no value that
    // does not fit: filtering for one would never end.
    if (BAD_QUERY.every((v) => fitsCoerced(p.schema, safeDecode(v)))) continue;
    fams.push(
      fc
        .oneof(fc.constantFrom(...BAD_QUERY), fc.string({ maxLength: 10 }).map(encodeURIComponent))
        .filter((v) => !fitsCoerced(p.schema, safeDecode(v)))
        .map((v) => {
          const q = [validQuery().split('&').filter((x) => x && !x.startsWith(p.name + '=')).join('&'), `${p.name}=${v}`].filter(Boolean).join('&');
          const body = op.body && isWrite(op) ? bodyOf(baseBody(op.body, w)) : undefined;
          return make('query.' + p.name, path({}, q), body ? jsonHeaders : auth(w.a.token), body, true);
        }),
    );
  }
  if (!isWrite(op)) {
    // Junk query keys on a read: anything but a 5xx or a malformed error.
    fams.push(
      fc.constantFrom('__proto__[admin]=1', 'constructor[prototype][x]=1', '%24ne=1', 'a=%', 'token=x', 'x=' + 'y'.repeat(5000), '%ff%fe=1').map((q) => make('query.junk', path({}, [validQuery(), q].filter(Boolean).join('&')), auth(w.a.token), undefined, false)),
    );
  }
  if (op.secured) {
    fams.push(
      fc
        .constantFrom('', 'Bearer ', 'Bearer {"$ne":null}', 'Basic YTpi', `Bearer ${w.a.token}x`, `Bearer ${w.a.token.split('.').slice(0, 2).join('.')}.`, 'Bearer null', 'Bearer ' + 'a'.repeat(8000), `bearer  ${w.a.token.replace(/\./g, '..')}`)
        .map((h) => {
          const body = op.body && isWrite(op) ? bodyOf(baseBody(op.body, w)) : undefined;
          return make('auth.bad', path({}, validQuery()), { ...(h ? { authorization: h } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body, true);
        }),
    );
  }
  if (opts.anonymous) return fams[fams.length - 1];
  return fc.oneof(...fams);
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}
/** Values that fit an id's type yet name nothing (1e20, 0x10): refused as not found. */
const isJunkId = (v: string) => ['1e20', '99999999999999999999'].includes(v);

/** Multipart bodies an upload route must refuse. */
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function part(boundary: string, name: string, filename: string | null, type: string, data: Buffer): Buffer {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename !== null ? `; filename="${filename}"` : ''}\r\nContent-Type: ${type}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), data, Buffer.from('\r\n')]);
}
const end = (b: string) => Buffer.from(`--${b}--\r\n`);
const MULTIPART_BAD: { kind: string; name: string; contentType?: string; body: (b: string) => Buffer }[] = [
  { kind: 'no_boundary', name: 'a', contentType: 'multipart/form-data', body: () => Buffer.from('garbage') },
  { kind: 'truncated', name: 'bb', body: (b) => Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n\x89PNG`) },
  { kind: 'garbage_png', name: 'ccc', body: (b) => Buffer.concat([part(b, 'files', 'a.png', 'image/png', Buffer.from('not a png at all')), part(b, 'file', 'a.png', 'image/png', Buffer.from('nope')), end(b)]) },
  { kind: 'broken_png', name: 'dddd', body: (b) => Buffer.concat([part(b, 'files', 'a.png', 'image/png', Buffer.concat([PNG_MAGIC, Buffer.alloc(64, 7)])), part(b, 'file', 'a.png', 'image/png', Buffer.concat([PNG_MAGIC, Buffer.alloc(64, 7)])), end(b)]) },
  { kind: 'svg', name: 'eeeee', body: (b) => Buffer.concat([part(b, 'files', 'a.svg', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')), part(b, 'file', 'a.svg', 'image/svg+xml', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), end(b)]) },
  { kind: 'html', name: 'ffffff', body: (b) => Buffer.concat([part(b, 'files', 'x.html', 'text/html', Buffer.from('<html><script>alert(1)</script></html>')), part(b, 'file', 'x.html', 'text/html', Buffer.from('<html></html>')), end(b)]) },
  { kind: 'traversal_name', name: 'ggggggg', body: (b) => Buffer.concat([part(b, 'files', '../../../etc/passwd', 'text/plain', Buffer.from('root:x:0:0')), part(b, 'file', '../../x.txt', 'text/plain', Buffer.from('x')), end(b)]) },
  { kind: 'empty', name: 'hhhhhhhh', body: (b) => end(b) },
  { kind: 'no_file_field', name: 'iiiiiiiii', body: (b) => Buffer.concat([part(b, 'other', null, 'text/plain', Buffer.from('{"$ne":null}')), end(b)]) },
  // Invalid UTF-8 in the file name (with content that is refused anyway: an upload of a plain
  // text file with such a name is accepted, its name shown with U+FFFD; see the report).
  { kind: 'invalid_utf8_name', name: 'jjjjjjjjjj', body: (b) => Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="files"; filename="`), INVALID_UTF8, Buffer.from('.svg"\r\nContent-Type: image/svg+xml\r\n\r\n<svg xmlns="http://www.w3.org/2000/svg"/>\r\n'), end(b)]) },
];

/** Sends one input and checks what came back; true when it was refused. */
export async function sendRest(server: { url: string }, op: Operation, input: RestInput, tally: Tally): Promise<void> {
  const surface = tally.surface(`REST ${op.method} ${op.path}`);
  surface.tried++;
  let res: RawResponse;
  try {
    res = await rawRequest(server.url, input.method, input.path, input.headers, input.body);
  } catch (e) {
    // The server dropped the connection: a crash or a reset.
    surface.byStatus['reset'] = (surface.byStatus['reset'] ?? 0) + 1;
    tally.violation(`${op.method} ${op.path} [${input.family}] ${input.path}: connection failed: ${(e as Error).message}`);
    return;
  }
  surface.byStatus[res.status] = (surface.byStatus[res.status] ?? 0) + 1;
  const repro = () => `${input.method} ${input.path.slice(0, 200)} [${input.family}] ${JSON.stringify(input.headers['content-type'] ?? '')} body=${input.body ? JSON.stringify(input.body.subarray(0, 200).toString('latin1')) + (input.body.length > 200 ? `…(${input.body.length} bytes)` : '') : '-'} → ${res.status} ${res.text.slice(0, 200)}`;
  if (res.status >= 500) {
    surface.fiveXX++;
    tally.violation('5xx: ' + repro());
    return;
  }
  if (res.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    const ok =
      !!body && typeof body === 'object' && !Array.isArray(body) && typeof (body as { detail?: unknown }).detail === 'string' && Object.keys(body).every((k) => k === 'detail' || k === 'code');
    if (!ok || !/json/.test(String(res.headers['content-type']))) tally.violation('not {detail}: ' + repro());
    return;
  }
  if (input.mustRefuse) {
    surface.accepted++;
    tally.violation('accepted: ' + repro());
  }
}

// ------------------------------------------------------------------ sockets

export interface FrameSpec {
  /** Where the fields go: inside `data` (000/001/002) or beside `type` (003, 004, Parley's). */
  envelope: 'data' | 'flat';
  /** The frame's JSON Schema (of `data`, or of the flat frame without `type`); null: the type takes no fields. */
  schema: Record<string, any> | null;
  base: (w: World) => Record<string, unknown>;
}
export interface SocketSpec {
  name: string;
  url: (server: TestServer, w: World) => string;
  /** Frames the server sends on connect, before it takes frames (waited for). */
  hello?: string;
  frames: Record<string, FrameSpec>;
}

const chatFrames = (): Record<string, FrameSpec> => {
  return {
    send_message: { envelope: 'data', schema: chatSchemas.SendMessageData, base: (w) => ({ room_id: w.direct.id, content: 'fuzz', local_temp_id: 'fz-chat' }) },
    typing: { envelope: 'data', schema: chatSchemas.TypingData, base: (w) => ({ room_id: w.direct.id, is_typing: true }) },
    join_room: { envelope: 'data', schema: chatSchemas.JoinRoomData, base: (w) => ({ room_id: w.direct.id }) },
    mark_read: { envelope: 'data', schema: chatSchemas.MarkReadData, base: (w) => ({ room_id: w.direct.id, seq: 1 }) },
    like_message: { envelope: 'data', schema: chatSchemas.LikeData, base: (w) => ({ message_id: w.directMsg.id }) },
    leave_room: { envelope: 'data', schema: null, base: () => ({}) },
    ping: { envelope: 'data', schema: null, base: () => ({}) },
  };
};

/** A flat frame's schema without `type` (Parley's frames declare it; additionalProperties stays). */
function withoutType(s: Record<string, any>): Record<string, any> {
  const { type: _t, ...properties } = s.properties;
  void _t;
  return { ...s, properties, required: (s.required ?? []).filter((k: string) => k !== 'type') };
}

export const SOCKETS: SocketSpec[] = [
  { name: '/api/chat/ws', url: (s, w) => `${s.wsUrl}/api/chat/ws?token=${w.a.token}&room_id=${w.direct.id}`, frames: chatFrames() },
  { name: '/api/v1/chat/ws', url: (s, w) => `${s.wsUrl}/api/v1/chat/ws?token=${w.a.token}&room_id=${w.direct.id}`, frames: chatFrames() },
  {
    name: '/api/v1/chat/ws/chat',
    hello: 'online_friends',
    url: (s, w) => `${s.wsUrl}/api/v1/chat/ws/chat?token=${w.a.token}`,
    frames: {
      send_message: { envelope: 'flat', schema: v1Schemas.SendFrame, base: (w) => ({ receiver_id: w.b.uuid, content: 'fuzz' }) },
      mark_read: { envelope: 'flat', schema: v1Schemas.MarkReadFrame, base: (w) => ({ message_id: w.directMsg.uuid }) },
      typing: { envelope: 'flat', schema: v1Schemas.TypingFrame, base: (w) => ({ receiver_id: w.b.uuid, is_typing: true }) },
      ping: { envelope: 'flat', schema: null, base: () => ({}) },
    },
  },
  {
    name: '/ws/chat/{tenant}/',
    hello: 'connection_established',
    url: (s, w) => `${s.wsUrl}/ws/chat/${w.a.tenant}/?token=${w.a.token}`,
    frames: {
      join_conversation: { envelope: 'flat', schema: notifSchemas.ConversationFrame, base: (w) => ({ conversation_id: w.group.uuid }) },
      leave_conversation: { envelope: 'flat', schema: notifSchemas.ConversationFrame, base: (w) => ({ conversation_id: w.group.uuid }) },
      send_message: { envelope: 'flat', schema: notifSchemas.SendFrame, base: (w) => ({ conversation_id: w.group.uuid, content: 'fuzz' }) },
      start_typing: { envelope: 'flat', schema: notifSchemas.ConversationFrame, base: (w) => ({ conversation_id: w.group.uuid }) },
      stop_typing: { envelope: 'flat', schema: notifSchemas.ConversationFrame, base: (w) => ({ conversation_id: w.group.uuid }) },
      add_reaction: { envelope: 'flat', schema: notifSchemas.ReactionFrame, base: (w) => ({ message_id: w.groupMsg.uuid, emoji: '❤️' }) },
      remove_reaction: { envelope: 'flat', schema: notifSchemas.ReactionFrame, base: (w) => ({ message_id: w.groupMsg.uuid, emoji: '👍' }) },
      mark_read: { envelope: 'flat', schema: notifSchemas.ConversationFrame, base: (w) => ({ conversation_id: w.group.uuid }) },
      update_presence: { envelope: 'flat', schema: notifSchemas.PresenceFrame, base: () => ({ status: 'online' }) },
      authenticate: { envelope: 'flat', schema: null, base: () => ({}) },
      ping: { envelope: 'flat', schema: null, base: () => ({}) },
    },
  },
  {
    name: '/api/parley/ws',
    hello: 'ready',
    url: (s, w) => `${s.wsUrl}/api/parley/ws?token=${w.a.token}`,
    frames: Object.fromEntries(
      Object.entries(ClientFrames).map(([type, schema]) => [
        type,
        {
          envelope: 'flat' as const,
          schema: withoutType(schema as unknown as Record<string, any>),
          base: (w: World): Record<string, unknown> =>
            ((
              {
                subscribe: {},
                send: { conversation_id: w.group.id, content: 'fuzz', local_temp_id: 'fz-p' },
                edit: { message_id: w.groupMsg.id, content: 'edited' },
                delete: { message_id: w.groupMsg.id },
                react: { message_id: w.groupMsg.id, emoji: '❤️', on: true },
                read: { conversation_id: w.group.id },
                typing: { conversation_id: w.group.id, is_typing: true },
                presence: { status: 'online' },
                ping: {},
              } as Record<string, Record<string, unknown>>
            )[type] ?? {}),
        },
      ]),
    ),
  },
];

export interface FrameInput {
  family: string;
  /** Text, or bytes sent as a binary frame (or as a text frame with invalid UTF-8). */
  data: string | Buffer;
  binary?: boolean;
  /** Close codes this input may end with instead of an error frame. */
  closes?: number[];
}

/** `type` values no dialect knows, including the names of Object.prototype. */
const BAD_TYPES: unknown[] = ['PING', ' ping', 'ping ', 'ping\u0000', '__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '', null, 1, true, ['ping'], withOwn([['$ne', null]]), 'x'.repeat(10_000), DEEP_OBJECT];

/** Bad frames for one frame type of a socket. */
export function frameInput(type: string, spec: FrameSpec, w: World, chatFiles: boolean): fc.Arbitrary<FrameInput> {
  const frame = (fields: Record<string, unknown>, extras: [string, unknown][] = []): Record<string, unknown> => {
    const f: Record<string, unknown> = { type };
    if (spec.envelope === 'data') f.data = fields;
    else for (const k of Object.keys(fields)) put(f, k, fields[k]);
    for (const [k, v] of extras) if (k !== 'type' && !Object.hasOwn(fields, k) && k !== 'data') put(spec.envelope === 'data' ? (f.data as Record<string, unknown>) : f, k, v);
    return f;
  };
  const check = (f: Record<string, unknown>): boolean => {
    if (!spec.schema) return false;
    const { type: _t, ...rest } = f;
    void _t;
    const body = spec.envelope === 'data' ? (f.data ?? {}) : rest;
    return !fits(spec.schema, body);
  };
  const text = (family: string) => (f: Record<string, unknown>): FrameInput => ({ family, data: toJson(f) });
  const fams: fc.Arbitrary<FrameInput>[] = [];
  if (spec.schema) {
    const schema = spec.schema;
    const props = Object.keys(schema.properties ?? {});
    if (props.length > 0) {
      fams.push(
        fc
          .tuple(fc.constantFrom(...props), extraKeys)
          .chain(([k, extras]) => wrongValue(schema.properties[k]).map((v) => ({ k, v, extras })))
          .map(({ k, v, extras }) => frame(put({ ...spec.base(w) }, k, v), extras))
          .filter(check)
          .map(text('frame.wrong_type')),
      );
    }
    const required: string[] = schema.required ?? [];
    if (required.length > 0) {
      fams.push(
        fc
          .tuple(fc.subarray(required, { minLength: 1 }), extraKeys)
          .map(([drop, extras]) => {
            const b = { ...spec.base(w) };
            for (const k of drop) delete b[k];
            return frame(b, extras);
          })
          .filter(check)
          .map(text('frame.missing')),
      );
    }
    if (spec.envelope === 'data') {
      fams.push(
        fc
          .constantFrom<unknown>('x', 1, [], [spec.base(w)], true, DEEP_ARRAY, DEEP_OBJECT)
          // An object `data` of only unknown keys fits a schema whose fields are all optional.
          .filter((d) => !fits(schema, d))
          .map((d) => ({ family: 'frame.data_not_object', data: toJson({ type, data: d }) })),
      );
    }
    if (schema.additionalProperties === false) {
      fams.push(extraKeys.filter((e) => e.some(([k]) => k !== 'type' && !props.includes(k))).map((e) => frame(spec.base(w), e)).filter(check).map(text('frame.extra')));
    }
  }
  // Types the dialect does not know (also for types that take no fields).
  fams.push(
    fc.constantFrom(...BAD_TYPES).map((t) => {
      const f = put(spec.envelope === 'data' ? { data: spec.base(w) } : { ...spec.base(w) }, 'type', t);
      return { family: 'frame.bad_type', data: toJson(f) };
    }),
  );
  // Document 000's files with bytes that are not base64, or not what they claim.
  if (chatFiles && type === 'send_message') {
    fams.push(
      fc
        .constantFrom(
          { message_type: 'image', file_data: '!!!not base64!!!', file_name: 'a.png', mime_type: 'image/png' },
          { message_type: 'image', file_data: 'data:image/png;base64,%%%%', file_name: 'a.png' },
          { message_type: 'file', file_data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>').toString('base64'), file_name: 'a.svg' },
          { message_type: 'image', file_data: Buffer.concat([PNG_MAGIC, Buffer.alloc(32)]).toString('base64'), file_name: 'a.png' },
          { message_type: 'file', file_data: 'QUJD', file_name: '../../etc/passwd' },
          { message_type: 'image', files_data: [{ file_data: '====', file_name: 'x.jpg' }] },
          { message_type: 'image', file_data: 'A'.repeat(1001) + '=', file_name: 'a.gif' },
        )
        .map((f) => ({ family: 'frame.bad_base64', data: toJson({ type, data: { room_id: w.direct.id, local_temp_id: 'fz-file', ...f } }) })),
    );
  }
  return fc.oneof(...fams);
}

/** Frames refused by any socket whatever its type: not JSON, not an object, binary, too big. */
export function socketLevelInputs(maxPayload: number): FrameInput[] {
  return [
    { family: 'socket.not_json', data: 'not json' },
    { family: 'socket.not_json', data: '{"type":"ping"' },
    { family: 'socket.not_object', data: '[{"type":"ping"}]' },
    { family: 'socket.not_object', data: '"ping"' },
    { family: 'socket.not_object', data: 'null' },
    { family: 'socket.not_object', data: '42' },
    { family: 'socket.empty', data: '' },
    { family: 'socket.deep', data: deep(10_000, '{"type":', '}', '"ping"') },
    { family: 'socket.deep', data: deep(10_000, '[', ']') },
    { family: 'socket.binary', data: Buffer.from('{"type":"ping"}'), binary: true },
    { family: 'socket.binary', data: Buffer.from([0, 1, 2, 255]), binary: true },
    { family: 'socket.proto', data: '{"__proto__":{"type":"ping"}}' },
    { family: 'socket.proto', data: '{"constructor":{"prototype":{"type":"ping"}}}' },
    // Invalid UTF-8 in a text frame: ws closes it (RFC 6455: 1007) before Parley sees it.
    { family: 'socket.invalid_utf8', data: Buffer.concat([Buffer.from('{"type":"'), INVALID_UTF8, Buffer.from('"}')]), binary: false, closes: [1007] },
    { family: 'socket.oversized', data: '{"type":"send_message","data":{"content":"' + 'x'.repeat(maxPayload) + '"}}', closes: [1009] },
    { family: 'socket.oversized', data: Buffer.alloc(maxPayload + 1, 0x41), binary: true, closes: [1009] },
  ];
}

/** Close codes docs/codes.md documents for a refused frame. */
export const DOCUMENTED_CLOSES = [1008, 1009, 4000, 4001, 4002, 4003, 4008];

class Client {
  readonly frames: any[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      let f: any;
      try {
        f = JSON.parse(d.toString());
      } catch {
        f = { type: '<non-json>' };
      }
      this.frames.push(f);
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake();
    });
    ws.on('error', () => {});
  }
  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }
  /** Waits until pred holds on the frames (or the socket closed), up to ms. */
  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (this.closed) return pred();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
    }
    return true;
  }
}

async function openClient(url: string, hello?: string): Promise<Client> {
  const ws = new WebSocket(url, { maxPayload: 1024 * 1024 });
  const c = new Client(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_q, r) => reject(new Error(`unexpected response ${r.statusCode}`)));
    ws.once('error', reject);
  });
  if (hello && !(await c.until(() => c.frames.some((f) => f.type === hello), 5000))) throw new Error(`no ${hello} on ${url.replace(/token=[^&]*/, 'token=…')}`);
  // A ping answered: authentication and setup finished.
  ws.send('{"type":"ping"}');
  if (!(await c.until(() => c.frames.some((f) => f.type === 'pong'), 5000))) throw new Error('no pong after connect');
  return c;
}

/** A socket of one dialect that reopens itself when a bad frame closed it. */
export class SocketRunner {
  #client: Client | null = null;
  constructor(
    readonly spec: SocketSpec,
    readonly url: string,
    readonly tally: Tally,
  ) {}
  async #get(): Promise<Client> {
    if (!this.#client || this.#client.closed || this.#client.ws.readyState !== WebSocket.OPEN) this.#client = await openClient(this.url, this.spec.hello);
    return this.#client;
  }

  /** Sends one bad frame; expects an error frame then a pong, or a documented close. */
  async send(surfaceName: string, input: FrameInput): Promise<void> {
    const surface = this.tally.surface(surfaceName);
    surface.tried++;
    const c = await this.#get();
    const start = c.frames.length;
    const repro = (what: string) =>
      `${this.spec.name} [${input.family}] ${typeof input.data === 'string' ? JSON.stringify(input.data.slice(0, 200)) : `<${input.binary ? 'binary' : 'text'} ${input.data.length} bytes>`}${input.data.length > 200 ? `…(${input.data.length})` : ''}: ${what}`;
    c.ws.send(input.data, { binary: input.binary ?? false });
    c.ws.send('{"type":"ping"}');
    const got = await c.until(() => c.frames.slice(start).some((f) => f.type === 'pong'), 10_000);
    const after = c.frames.slice(start);
    const errors = after.filter((f) => f.type === 'error');
    surface.errorFrames += errors.length;
    if (c.closed) {
      surface.closes[c.closed.code] = (surface.closes[c.closed.code] ?? 0) + 1;
      if (!DOCUMENTED_CLOSES.includes(c.closed.code) && !(input.closes ?? []).includes(c.closed.code)) this.tally.violation(repro(`closed with undocumented ${c.closed.code} ${c.closed.reason}`));
      else if (!(input.closes ?? []).includes(c.closed.code) && errors.length === 0) this.tally.violation(repro(`closed ${c.closed.code} instead of an error frame`));
      this.#client = null;
      return;
    }
    if (input.closes && input.closes.length > 0) {
      // Expected a close; wait a moment for it.
      await c.until(() => false, 200);
      const code = c.closed ? (c.closed as { code: number }).code : null;
      if (code !== null) surface.closes[code] = (surface.closes[code] ?? 0) + 1;
      if (code === null || !input.closes.includes(code)) this.tally.violation(repro(`expected close ${input.closes.join('/')}, got ${code ?? 'no close'}; frames ${JSON.stringify(after.map((f) => f.type))}`));
      if (code !== null) this.#client = null;
      return;
    }
    if (!got) {
      this.tally.violation(repro(`no pong within 10 s after the bad frame; frames ${JSON.stringify(after.map((f) => f.type))}`));
      c.ws.terminate();
      this.#client = null;
      return;
    }
    if (errors.length === 0) this.tally.violation(repro(`no error frame; got ${JSON.stringify(after.slice(0, 5))}`));
    for (const e of errors) {
      if (typeof e.message !== 'string' || !e.message) this.tally.violation(repro(`error frame without message ${JSON.stringify(e)}`));
      if (e.code === 'internal') this.tally.violation(repro(`internal error frame ${JSON.stringify(e)}`));
    }
    const acted = after.filter((f) => ['new_message', 'message', 'message_update', 'message_changed', 'message_sent', 'new_message_received', 'reaction_added', 'message_deleted', 'message_edited'].includes(f.type));
    if (acted.length > 0) this.tally.violation(repro(`a bad frame acted: ${JSON.stringify(acted[0]).slice(0, 300)}`));
    c.frames.splice(0, c.frames.length);
  }

  close() {
    this.#client?.ws.terminate();
    this.#client = null;
  }
}

// ------------------------------------------------------------------ rows

/** Row count of every table (through the store's Kysely). */
const DRAINED_IN_BACKGROUND = new Set(['notification_outbox', 'webhook_deliveries', 'email_claims', 'email_sends']);
/**
 * The audit log records reads too (a tenant export, which the fuzz's account, its tenant's
 * admin, may make when an input happens to be valid): counted apart, and what it holds after a
 * run is checked by `auditedActions` — reads only, never a refused change.
 */
const AUDIT = new Set(['audit_log', 'audit_heads']);

/** The actions the audit log holds, each once. */
export async function auditedActions(server: TestServer): Promise<string[]> {
  const rows = await sql<{ action: string }>`select distinct action from audit_log`.execute(sqlStoreOf(server).db);
  return rows.rows.map((r) => r.action).sort();
}

export async function rowCounts(server: TestServer): Promise<Record<string, number>> {
  const store = sqlStoreOf(server);
  const tables =
    store.dialect === 'sqlite'
      ? ((await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db)).rows.map((r) => r.name))
      : ((await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db)).rows.map((r) => r.name));
  const out: Record<string, number> = {};
  for (const t of tables.sort()) {
    // Queues that background dispatchers drain (pushes, webhooks, e-mail) change with time, not with requests.
    if (DRAINED_IN_BACKGROUND.has(t) || AUDIT.has(t)) continue;
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(store.db);
    out[t] = Number(r.rows[0].n);
  }
  return out;
}

// ------------------------------------------------------------------ the whole run

export interface RunOptions {
  seed: number;
  /** Inputs per REST operation and per frame type. */
  perOperation: number;
  perFrameType: number;
  /** Anonymous inputs per secured operation. */
  anonymousPerOperation: number;
  log?: (line: string) => void;
  /** Stop after this many seconds (the counts say how far it got). */
  budgetSeconds?: number;
  /** Only the surfaces whose name (`REST GET /api/chat/rooms`, `WS /api/parley/ws send`) matches. */
  only?: RegExp;
}

export interface RunResult {
  tally: Tally;
  rowsBefore: Record<string, number>;
  rowsAfter: Record<string, number>;
  rssBeforeMb: number;
  rssAfterMb: number;
  processErrors: string[];
  operations: number;
  frameTypes: number;
  seconds: number;
  db: string;
}

/** A full garbage collection (exposed on demand), so RSS compares live memory. */
function collect(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
}

async function rssMb(): Promise<number> {
  collect();
  await sleep(50);
  collect();
  return process.memoryUsage().rss / 1048576;
}

export const FUZZ_MAX_PAYLOAD = 256 * 1024;
/** Inputs generated at a time. */
const CHUNK = 50;

/** Parley for the fuzzer: PostgreSQL when DATABASE_URL names it (a clone of the migrated template), else SQLite. */
export async function fuzzServer(): Promise<TestServer> {
  return startParley({ db: hasPostgres ? 'postgres' : 'sqlite', env: { WS_MAX_PAYLOAD_BYTES: String(FUZZ_MAX_PAYLOAD), WS_PING_INTERVAL_MS: '0' } });
}

export async function runFuzz(server: TestServer, opts: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  fc.configureGlobal({ seed: opts.seed });
  const processErrors: string[] = [];
  const onRejection = (e: unknown) => processErrors.push(`unhandledRejection: ${(e as Error)?.stack ?? String(e)}`);
  const onException = (e: unknown) => processErrors.push(`uncaughtException: ${(e as Error)?.stack ?? String(e)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  const tally = new Tally();
  const deadline = opts.budgetSeconds ? t0 + opts.budgetSeconds * 1000 : Infinity;
  try {
    const w = await buildWorld(server);
    const ops = await operations(server);
    const rowsBefore = await rowCounts(server);
    const pass = async (perOperation: number, perFrameType: number, anonymous: number, seedBase: number, t: Tally) => {
      let seed = seedBase;
      for (const op of ops) {
        if (Date.now() > deadline) break;
        if (opts.only && !opts.only.test(`REST ${op.method} ${op.path}`)) continue;
        // Generated a chunk at a time: a few huge inputs alive at once, not thousands.
        const arb = restInput(op, w);
        for (let done = 0; done < perOperation; done += CHUNK) {
          for (const input of fc.sample(arb, { numRuns: Math.min(CHUNK, perOperation - done), seed: seed++ })) await sendRest(server, op, input, t);
        }
        if (op.secured && anonymous > 0) for (const input of fc.sample(restInput(op, w, { anonymous: true }), { numRuns: anonymous, seed: seed++ })) await sendRest(server, op, input, t);
        log(`REST ${op.method} ${op.path}: ${perOperation + (op.secured ? anonymous : 0)}`);
      }
      let frameTypes = 0;
      for (const spec of SOCKETS) {
        const runner = new SocketRunner(spec, spec.url(server, w), t);
        try {
          for (const [type, fs] of Object.entries(spec.frames)) {
            frameTypes++;
            if (Date.now() > deadline) break;
            if (opts.only && !opts.only.test(`WS ${spec.name} ${type}`)) continue;
            const arb = frameInput(type, fs, w, spec.name === '/api/chat/ws' || spec.name === '/api/v1/chat/ws');
            for (let done = 0; done < perFrameType; done += CHUNK) {
              for (const input of fc.sample(arb, { numRuns: Math.min(CHUNK, perFrameType - done), seed: seed++ })) await runner.send(`WS ${spec.name} ${type}`, input);
            }
            log(`WS ${spec.name} ${type}: ${perFrameType}`);
          }
          if (!opts.only || opts.only.test(`WS ${spec.name} <any>`)) for (const input of socketLevelInputs(FUZZ_MAX_PAYLOAD)) await runner.send(`WS ${spec.name} <any>`, input);
        } finally {
          runner.close();
        }
      }
      return frameTypes;
    };
    // A short warm-up first (its findings count too): V8 and SQLite grow to their working
    // size on the first huge and deep inputs; RSS is compared from after it.
    const warm = await pass(3, 3, 0, opts.seed + 1_000_000, tally);
    void warm;
    const rssBeforeMb = await rssMb();
    const frameTypes = await pass(opts.perOperation, opts.perFrameType, opts.anonymousPerOperation, opts.seed, tally);
    // Let anything in flight land before counting.
    await sleep(200);
    const rowsAfter = await rowCounts(server);
    const rssAfterMb = await rssMb();
    return { tally, rowsBefore, rowsAfter, rssBeforeMb, rssAfterMb, processErrors, operations: ops.length, frameTypes, seconds: (Date.now() - t0) / 1000, db: (server.parley.store as unknown as { dialect: string }).dialect };
  } finally {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }
}

/** What failed, as lines (empty: the run passed). */
export function failures(r: RunResult): string[] {
  const out: string[] = [];
  const t = r.tally.totals();
  if (t.fiveXX > 0) out.push(`${t.fiveXX} responses ≥ 500`);
  out.push(...r.tally.violations);
  out.push(...r.processErrors);
  for (const k of new Set([...Object.keys(r.rowsBefore), ...Object.keys(r.rowsAfter)])) {
    if (r.rowsBefore[k] !== r.rowsAfter[k]) out.push(`table ${k}: ${r.rowsBefore[k]} rows before, ${r.rowsAfter[k]} after`);
  }
  if (r.rssAfterMb - r.rssBeforeMb >= 50) out.push(`RSS grew ${(r.rssAfterMb - r.rssBeforeMb).toFixed(1)} MB`);
  return out;
}

export function summary(r: RunResult): string {
  return [
    r.tally.report(),
    ...(r.tally.known.size ? [r.tally.knownReport()] : []),
    `db=${r.db} operations=${r.operations} frameTypes=${r.frameTypes} seconds=${r.seconds.toFixed(1)} rss ${r.rssBeforeMb.toFixed(0)}→${r.rssAfterMb.toFixed(0)} MB (Δ ${(r.rssAfterMb - r.rssBeforeMb).toFixed(1)})`,
    `rows: ${Object.entries(r.rowsAfter)
      .map(([k, v]) => `${k}=${v}${r.rowsBefore[k] !== v ? `(was ${r.rowsBefore[k]})` : ''}`)
      .join(' ')}`,
  ].join('\n');
}
