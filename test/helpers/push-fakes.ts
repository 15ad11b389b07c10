import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2Server, ServerHttp2Stream } from 'node:http2';
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
