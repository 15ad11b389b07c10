import { generateKeyPairSync } from 'node:crypto';
import { describe } from 'vitest';
import { ApnsProvider } from '../../src/backends/push/apns.js';
import { FcmProvider } from '../../src/backends/push/fcm.js';
import { startFakeApns, startFakeFcm } from '../helpers/push-fakes.js';
import { pushProviderContract } from './push-provider.contract.js';

describe('FcmProvider against a local FCM HTTP v1', () => {
  pushProviderContract(async (opts) => {
    const service = await startFakeFcm(opts?.wrongKey ? { signWith: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey } : {});
    return { service, provider: new FcmProvider({ account: service.account, baseUrl: service.url }), target: (token) => ({ kind: 'fcm', token }) };
  });
});

describe('ApnsProvider against a local APNs (HTTP/2)', () => {
  pushProviderContract(async (opts) => {
    const service = await startFakeApns(opts?.wrongKey ? { signWith: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey } : {});
    const provider = new ApnsProvider({ keyPem: service.keyPem, keyId: service.keyId, teamId: service.teamId, topic: service.topic, baseUrl: service.url });
    const close = service.close;
    return {
      provider,
      service: Object.assign(service, { close: async () => (provider.close(), close()) }),
      target: (token) => ({ kind: 'apns', token }),
    };
  });
});
