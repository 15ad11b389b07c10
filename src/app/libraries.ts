import type { Config } from '../config/config.js';
import type { CoreLibraries } from '../core/core.js';
import { Argon2PasswordHasher } from '../backends/accounts/argon2-password-hasher.js';
import { JoseTokenSigner } from '../backends/accounts/jose-token-signer.js';
import { SharpImageInspector } from '../backends/media/sharp-image-inspector.js';
import { WorkerAudioProbe } from '../backends/media/worker-audio-probe.js';
import { WebPushProvider } from '../backends/push/web-push.js';
import { mobilePushProviders } from '../backends/push/index.js';
import { TarPacker } from '../backends/archive/tar-packer.js';

/** The libraries behind the core's ports, configured (the server and the CLI share them). */
export function createCoreLibraries(config: Config): CoreLibraries {
  return {
    passwordHasher: new Argon2PasswordHasher(),
    tokenSigner: new JoseTokenSigner(config.jwtSecret, config.jwtTtlSeconds, config.idp),
    imageInspector: new SharpImageInspector(),
    // Workers start on the first voice message, not here.
    audioProbe: new WorkerAudioProbe(config.mediaTimeoutMs),
    // One provider per subscription kind (web, fcm, apns): a kind without one is not pushed to.
    pushProviders: [
      new WebPushProvider({ subject: config.notify.vapidSubject, publicKey: config.notify.vapidPublicKey, privateKey: config.notify.vapidPrivateKey }),
      // FCM and APNs when configured (FCM_SERVICE_ACCOUNT_FILE, APNS_KEY_FILE…).
      ...mobilePushProviders(config.mobilePush),
    ],
    // Exports stream as one tar (issue 20).
    archive: new TarPacker(),
  };
}
