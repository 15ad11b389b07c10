import { asyncApiDocument } from './shared/asyncapi.js';
import { parleySocketDoc } from './parley/asyncapi.js';
import { chatSocketDoc } from './chat/asyncapi.js';
import { directSocketDoc } from './v1/asyncapi.js';
import { notificationsSocketDoc } from './notifications/asyncapi.js';

/** Every socket the server registers, Parley's own first: a test checks each route has its channel. */
export const SOCKETS = [
  parleySocketDoc,
  chatSocketDoc('chat'),
  chatSocketDoc('rooms'),
  directSocketDoc,
  notificationsSocketDoc,
];

/** The AsyncAPI document of every socket, served at /docs/asyncapi.json. */
export const socketsAsyncApi = (version: string) => asyncApiDocument(version, SOCKETS);
