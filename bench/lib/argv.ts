import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this bench script belongs to. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `--name value` from the command line, or `fallback` (the store benches' plain option style). */
export function argOf(name: string, fallback: number | string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : String(fallback);
}

/** The store benches' fixture: 2·pairs users of the default tenant and one direct room per pair. */
export async function seedPairs(store: any, pairs: number): Promise<{ id: number; a: number; b: number }[]> {
  const tenant = await store.defaultTenant();
  const users: number[] = [];
  for (let i = 0; i < 2 * pairs; i++) users.push((await store.createUser({ tenantId: tenant.id, email: `u${i}@x.example`, name: `U ${i}` })).id);
  const convs: { id: number; a: number; b: number }[] = [];
  for (let i = 0; i < pairs; i++) {
    const [a, b] = [users[2 * i], users[2 * i + 1]];
    const c = await store.createConversation({ tenantId: tenant.id, kind: 'direct', title: null, createdBy: a, participants: [{ userId: a, role: 'member' }, { userId: b, role: 'member' }] }, Date.now());
    convs.push({ id: c.id, a, b });
  }
  return convs;
}
