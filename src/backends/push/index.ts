import { readFileSync } from 'node:fs';
import type { MobilePushConfig } from '../../config/config.js';
import type { PushProvider } from '../../core/notifications/ports.js';
import { ApnsProvider } from './apns.js';
import { FcmProvider, parseFcmServiceAccount } from './fcm.js';

/**
 * The mobile push providers the configuration turns on (FCM, APNs), to join to the Web Push
 * provider: the dispatcher looks a target's provider up by `kind`.
 */
export function mobilePushProviders(config: MobilePushConfig): PushProvider[] {
  const providers: PushProvider[] = [];
  if (config.fcmServiceAccountFile) {
    const account = parseFcmServiceAccount(readFileSync(config.fcmServiceAccountFile, 'utf8'));
    providers.push(new FcmProvider({ account, baseUrl: config.fcmBaseUrl }));
  }
  if (config.apnsKeyFile) {
    const keyPem = readFileSync(config.apnsKeyFile, 'utf8');
    providers.push(new ApnsProvider({ keyPem, keyId: config.apnsKeyId, teamId: config.apnsTeamId, topic: config.apnsTopic, baseUrl: config.apnsBaseUrl }));
  }
  return providers;
}
