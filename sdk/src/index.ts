// Parley SDK: a typed REST + WebSocket client of /api/parley for browsers and Node 20.
export { ParleyClient, type ParleyClientOptions, type SendHandle, type SendOptions } from './client.js';
export { ChatState, type MessageStatus, type PresenceInfo } from './state.js';
export * from './rest.js';
export {
  Realtime,
  backoffDelay,
  retryHintOf,
  DEFAULT_RECONNECT,
  type HeartbeatOptions,
  type ReconnectOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './realtime.js';
export { ParleyError } from './errors.js';
export { Emitter } from './emitter.js';
/** The API version this SDK speaks: its own version is API_VERSION.<patch>; GET /healthz reports the server's. */
export { API_VERSION } from './generated/wire.js';
export type { UploadInput, UploadOptions, UploadProgress, XhrConstructor, XhrLike } from './upload.js';
export type * from './types.js';
export { AdminApi, type AdminUser, type AdminUserDetail, type AdminConversation, type AdminTenant, type AdminPage, type TenantSettings, type TenantSettingsChanges } from './admin.js';
