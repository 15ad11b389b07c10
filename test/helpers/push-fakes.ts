import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { FcmServiceAccount } from '../../src/backends/push/fcm.js';

// Local stand-ins for FCM HTTP v1 and APNs on loopback. Each checks what the provider's
// documentation requires of a request (authentication first: a signature it verifies with the
// public half of the key) and answers as the real service does in the situation a target
// token names. A request that breaks the documented shape is answered 400 and kept in
// `problems`, so a test fails on it.

/** What the service will answer for a target: its token is `<situation>-<anything>`. */
export type PushSituation = 'accepted' | 'unregistered' | 'bad-token' | 'throttled' | 'unavailable' | 'reset' | 'stale-credential';
export const SITUATIONS: readonly PushSituation[] = ['accepted', 'unregistered', 'bad-token', 'throttled', 'unavailable', 'reset', 'stale-credential'];
/** The Retry-After both fakes send when throttling, in seconds. */
export const THROTTLE_RETRY_AFTER_S = 30;

export const tokenFor = (situation: PushSituation) => `${situation}-${randomBytes(8).toString('hex')}`;
const situationOf = (token: string) => SITUATIONS.find((s) => token.startsWith(`${s}-`)) ?? 'accepted';

export interface FakePushService {
  readonly url: string;
  /** Each accepted push: the device token and the body as JSON. */
  readonly delivered: { token: string; body: any; headers: Record<string, string | string[] | undefined> }[];
  /** Requests that broke the documented shape or authentication. */
  readonly problems: string[];
  /** Distinct credentials seen on sends (access tokens, provider JWTs). */
  readonly credentials: Set<string>;
  close(): Promise<void>;
}

async function listen(server: Server | Http2Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readBody(req: IncomingMessage | ServerHttp2Stream): Promise<string> {
  let text = '';
  req.setEncoding('utf8');
  for await (const chunk of req) text += chunk;
  return text;
}

// ---------------------------------------------------------------- FCM

export interface FakeFcm extends FakePushService {
  readonly account: FcmServiceAccount;
  /** Access tokens issued at the token URI. */
  readonly exchanges: number;
}

/**
 * FCM HTTP v1 and Google's OAuth token endpoint. The service account it hands out is the one a
 * provider is configured with; `signWith` gives the provider a different private key than the
 * one the fake verifies with (a wrong or rotated key).
 */
export async function startFakeFcm(opts: { signWith?: KeyObject; expiresInS?: number } = {}): Promise<FakeFcm> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const issued = new Set<string>();
  const revokedOnce = new Set<string>();
  const problems: string[] = [];
  const delivered: FakeFcm['delivered'] = [];
  const credentials = new Set<string>();
  let exchanges = 0;
  let base = '';
  const project = 'parley-test';
  const account = (): FcmServiceAccount => ({
    project_id: project,
    client_email: `push@${project}.iam.gserviceaccount.com`,
    private_key: (opts.signWith ?? privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
    token_uri: `${base}/token`,
    private_key_id: 'key-1',
  });
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, statusText: string, errorCode?: string, headers?: Record<string, string>) =>
    json(res, status, { error: { code: status, message: statusText, status: statusText, details: errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : [] } }, headers);

  const server = createServer(async (req, res) => {
    const text = await readBody(req);
    if (req.method === 'POST' && req.url === '/token') {
      const form = new URLSearchParams(text);
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') problems.push(`token: content-type ${req.headers['content-type']}`);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        problems.push(`token: grant_type ${form.get('grant_type')}`);
        return json(res, 400, { error: 'unsupported_grant_type' });
      }
      try {
        const assertion = form.get('assertion') ?? '';
        if (decodeProtectedHeader(assertion).alg !== 'RS256') throw new Error('not RS256');
        const { payload } = await jwtVerify(assertion, publicKey, {
          algorithms: ['RS256'],
          issuer: account().client_email,
          audience: `${base}/token`,
          requiredClaims: ['iat', 'exp'],
        });
        if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') throw new Error(`scope ${payload.scope}`);
        if (payload.exp! - payload.iat! > 3600) throw new Error('assertion lives over an hour');
      } catch (e) {
        problems.push(`token: assertion refused (${(e as Error).message})`);
        return json(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
      }
      exchanges++;
      const token = `ya29.${randomBytes(16).toString('hex')}`;
      issued.add(token);
      return json(res, 200, { access_token: token, expires_in: opts.expiresInS ?? 3599, token_type: 'Bearer' });
    }
    if (req.method !== 'POST' || req.url !== `/v1/projects/${project}/messages:send`) {
      problems.push(`send: ${req.method} ${req.url}`);
      return error(res, 404, 'NOT_FOUND');
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !issued.has(bearer)) {
      problems.push(`send: bearer ${bearer ?? 'missing'} was not issued`);
      return error(res, 401, 'UNAUTHENTICATED');
    }
    credentials.add(bearer);
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push('send: body is not JSON');
      return error(res, 400, 'INVALID_ARGUMENT');
    }
    const shape = fcmShapeProblem(body);
    if (shape) {
      problems.push(`send: ${shape}`);
      return error(res, 400, 'INVALID_ARGUMENT');
    }
    const token: string = body.message.token;
    switch (situationOf(token)) {
      case 'unregistered':
        return error(res, 404, 'NOT_FOUND', 'UNREGISTERED');
      case 'bad-token':
        return error(res, 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT');
      case 'throttled':
        return error(res, 429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', { 'retry-after': String(THROTTLE_RETRY_AFTER_S) });
      case 'unavailable':
        return error(res, 503, 'UNAVAILABLE', 'UNAVAILABLE');
      case 'reset':
        return req.socket.destroy();
      case 'stale-credential':
        // The access token is refused once (revoked before its expiry): the next send must bring a new one.
        if (!revokedOnce.has(token)) {
          revokedOnce.add(token);
          issued.delete(bearer);
          return error(res, 401, 'UNAUTHENTICATED');
        }
    }
    delivered.push({ token, body, headers: req.headers });
    json(res, 200, { name: `projects/${project}/messages/${randomBytes(6).toString('hex')}` });
  });
  base = await listen(server);
  return {
    url: base,
    get account() {
      return account();
    },
    get exchanges() {
      return exchanges;
    },
    delivered,
    problems,
    credentials,
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** What the v1 reference requires of a message: a token, a notification, data as strings only, badge fields typed. */
function fcmShapeProblem(body: any): string | null {
  const m = body?.message;
  if (typeof m !== 'object' || m === null) return 'no message';
  if (typeof m.token !== 'string' || m.token === '') return 'message.token is not a string';
  if (typeof m.notification?.title !== 'string' || typeof m.notification?.body !== 'string') return 'notification.title/body are not strings';
  if (m.data !== undefined && Object.values(m.data).some((v) => typeof v !== 'string')) return 'data holds a value that is not a string';
  const count = m.android?.notification?.notification_count;
  if (count !== undefined && !Number.isInteger(count)) return 'android.notification.notification_count is not an integer';
  if (m.android?.collapse_key !== undefined && typeof m.android.collapse_key !== 'string') return 'android.collapse_key is not a string';
  const badge = m.apns?.payload?.aps?.badge;
  if (badge !== undefined && !Number.isInteger(badge)) return 'apns.payload.aps.badge is not an integer';
  return null;
}

// ---------------------------------------------------------------- APNs

export interface FakeApns extends FakePushService {
  /** What a provider is configured with: the .p8 key (PEM), its id, the team and the topic. */
  readonly keyPem: string;
  readonly keyId: string;
  readonly teamId: string;
  readonly topic: string;
  /** HTTP/2 connections opened to it. */
  readonly connections: number;
  /** Drops every connection (as APNs does to an idle one, or on a restart). */
  dropConnections(): Promise<void>;
}

/**
 * APNs' provider API over HTTP/2 without TLS (what node:http2 serves on loopback without a
 * certificate): `POST /3/device/{token}` with a bearer ES256 token it verifies with the public
 * half of the key, and the headers and payload Apple documents.
 */
export async function startFakeApns(opts: { signWith?: KeyObject } = {}): Promise<FakeApns> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyId = 'ABC123DEFG';
  const teamId = 'DEF123GHIJ';
  const topic = 'org.parley.app';
  const problems: string[] = [];
  const delivered: FakeApns['delivered'] = [];
  const credentials = new Set<string>();
  const refusedOnce = new Set<string>();
  const expired = new Set<string>();
  const sessions = new Set<ServerHttp2Session>();
  const server = createHttp2Server();
  let connections = 0;
  server.on('session', (s) => {
    connections++;
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', async (stream, headers) => {
    stream.on('error', () => {}); // the 'reset' situation closes it with an error code on purpose
    const text = await readBody(stream);
    const answer = (status: number, reason?: string, extra: Record<string, string> = {}) => {
      stream.respond({ ':status': status, 'apns-id': randomBytes(16).toString('hex'), ...(reason ? { 'content-type': 'application/json' } : {}), ...extra });
      stream.end(reason ? JSON.stringify({ reason }) : undefined);
    };
    const path = /^\/3\/device\/([0-9A-Za-z-]+)$/.exec(String(headers[':path']))?.[1];
    if (headers[':method'] !== 'POST' || !path) {
      problems.push(`${headers[':method']} ${headers[':path']}`);
      return answer(405, 'MethodNotAllowed');
    }
    const jwt = /^bearer (.+)$/.exec(String(headers.authorization ?? ''))?.[1];
    if (!jwt) {
      problems.push('no bearer provider token');
      return answer(403, 'MissingProviderToken');
    }
    try {
      const header = decodeProtectedHeader(jwt);
      if (header.alg !== 'ES256' || header.kid !== keyId) throw new Error(`header ${JSON.stringify(header)}`);
      const { payload } = await jwtVerify(jwt, publicKey, { algorithms: ['ES256'], issuer: teamId, requiredClaims: ['iat'] });
      if (Date.now() / 1000 - payload.iat! > 3600) {
        problems.push('provider token older than an hour');
        return answer(403, 'ExpiredProviderToken');
      }
    } catch (e) {
      problems.push(`provider token refused (${(e as Error).message})`);
      return answer(403, 'InvalidProviderToken');
    }
    if (expired.has(jwt)) {
      problems.push('a refused provider token was sent again');
      return answer(403, 'ExpiredProviderToken');
    }
    credentials.add(jwt);
    const shape = apnsShapeProblem(headers, text, topic);
    if (shape) {
      problems.push(shape);
      return answer(400, 'BadRequest');
    }
    const token = path;
    switch (situationOf(token)) {
      case 'unregistered':
        return answer(410, 'Unregistered');
      case 'bad-token':
        return answer(400, 'BadDeviceToken');
      case 'throttled':
        return answer(429, 'TooManyRequests', { 'retry-after': String(THROTTLE_RETRY_AFTER_S) });
      case 'unavailable':
        return answer(503, 'ServiceUnavailable');
      case 'reset':
        return stream.close(0x2 /* INTERNAL_ERROR */);
      case 'stale-credential':
        // The provider token is refused once (as if it had expired): it must not come back.
        if (!refusedOnce.has(token)) {
          refusedOnce.add(token);
          expired.add(jwt);
          return answer(403, 'ExpiredProviderToken');
        }
    }
    delivered.push({ token, body: JSON.parse(text), headers: { ...headers } });
    answer(200);
  });
  const url = await listen(server);
  return {
    url,
    keyPem: (opts.signWith ?? privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
    keyId,
    teamId,
    topic,
    get connections() {
      return connections;
    },
    async dropConnections() {
      await Promise.all([...sessions].map((s) => new Promise((closed) => s.close(() => closed(undefined)))));
    },
    delivered,
    problems,
    credentials,
    close: async () => {
      for (const s of sessions) s.destroy();
      server.close();
    },
  };
}

/** The headers and payload Apple's "Sending notification requests to APNs" requires of an alert. */
function apnsShapeProblem(headers: Record<string, unknown>, text: string, topic: string): string | null {
  if (headers['apns-topic'] !== topic) return `apns-topic ${headers['apns-topic']}`;
  if (headers['apns-push-type'] !== 'alert') return `apns-push-type ${headers['apns-push-type']}`;
  if (!['5', '10'].includes(String(headers['apns-priority']))) return `apns-priority ${headers['apns-priority']}`;
  if (!/^\d+$/.test(String(headers['apns-expiration']))) return `apns-expiration ${headers['apns-expiration']}`;
  const collapse = headers['apns-collapse-id'];
  if (collapse !== undefined && Buffer.byteLength(String(collapse)) > 64) return 'apns-collapse-id over 64 bytes';
  if (Buffer.byteLength(text) > 4096) return 'payload over 4 KB';
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return 'payload is not JSON';
  }
  const aps = body?.aps;
  if (typeof aps?.alert?.title !== 'string' || typeof aps?.alert?.body !== 'string') return 'aps.alert.title/body are not strings';
  if (!Number.isInteger(aps.badge)) return 'aps.badge is not an integer';
  return null;
}
