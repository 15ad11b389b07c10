import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderWireTypes, WIRE_TYPES_FILE } from './render.js';

// npm run sdk:types: writes the SDK's wire types from the server's schemas (see render.ts).
const file = path.resolve(import.meta.dirname, '../..', WIRE_TYPES_FILE);
mkdirSync(path.dirname(file), { recursive: true });
writeFileSync(file, renderWireTypes());
console.log(`wrote ${WIRE_TYPES_FILE}`);
