import { generateKeyPairSync } from 'node:crypto';
import { describe } from 'vitest';
import { FcmProvider } from '../../src/backends/push/fcm.js';
import { startFakeFcm } from '../helpers/push-fakes.js';
import { pushProviderContract } from './push-provider.contract.js';

describe('FcmProvider against a local FCM HTTP v1', () => {
  pushProviderContract(async (opts) => {
    const service = await startFakeFcm(opts?.wrongKey ? { signWith: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey } : {});
    return { service, provider: new FcmProvider({ account: service.account, baseUrl: service.url }), target: (token) => ({ kind: 'fcm', token }) };
  });
});
