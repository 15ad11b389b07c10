import { API_VERSION, ParleyClient, type Message, type WebSocketConstructor } from '@parley/sdk';

// What a developer does first with @parley/sdk (its README), as a project that installed the
// packed tarball does it: run by test/sdk/package.test.ts from Node and from a Vite page.
// Two people sign in with tokens of their own identity provider, list their conversations,
// send (a retried send stores once), receive on the other client, upload and download a file.

export interface ScenarioInput {
  baseUrl: string;
  /** Tokens the application's identity provider issued to two people. */
  tokens: [string, string];
  /** Node 20 has no global WebSocket: a Node caller passes one. */
  WebSocket?: WebSocketConstructor;
}

export interface ScenarioResult {
  sdkApiVersion: string;
  serverApiVersion: string;
  names: string[];
  /** The direct conversation, as each one's listConversations() shows it. */
  listedBy: number[];
  sentId: number;
  retriedId: number;
  /** What the second person's client received, in order. */
  received: { id: number; content: string | null; attachments: string[] }[];
  uploaded: { name: string; size: number; mime_type: string };
  /** The last upload progress call said loaded === total. */
  progressComplete: boolean;
  downloaded: string;
}

export const FILE_TEXT = 'Notes from the packed SDK\n';

export async function runScenario(input: ScenarioInput): Promise<ScenarioResult> {
  const [ada, bob] = input.tokens.map((token) => new ParleyClient({ baseUrl: input.baseUrl, token, WebSocket: input.WebSocket }));
  try {
    // 1. Sign in: the identity provider's token is the session.
    const [adaMe, bobMe] = await Promise.all([ada.me(), bob.me()]);
    // 4. Subscribe: live from here on (each client follows all its conversations).
    await Promise.all([ada.connect(), bob.connect()]);
    const received: Message[] = [];
    const twoArrived = new Promise<void>((resolve) => {
      bob.on('message', (frame) => {
        received.push(frame.message);
        if (received.length === 2) resolve();
      });
    });

    // 2. List conversations (after Ada opens one with Bob).
    const direct = await ada.createDirect(bobMe.id);
    const listedBy = await Promise.all([ada, bob].map(async (c) => (await c.listConversations()).filter((conv) => conv.id === direct.id).length));

    // 3. Send with retry: the same local_temp_id again (as after a lost ack) stores nothing new.
    const sent = await ada.send(direct.id, { content: 'hello from the package' }, { localTempId: 'package-test-1' }).promise;
    const retried = await ada.send(direct.id, { content: 'hello from the package' }, { localTempId: 'package-test-1', via: 'rest' }).promise;

    // 5. Upload, then send the file.
    let progressComplete = false;
    const [file] = await ada.upload([{ file: new Blob([FILE_TEXT], { type: 'text/plain' }), name: 'notes.txt' }], {
      onProgress: (p) => (progressComplete = p.loaded === p.total),
    });
    await ada.send(direct.id, { content: 'the notes', attachments: [file.key] }).promise;

    await twoArrived;
    const attachment = received[1].attachments[0];
    const downloaded = await (await fetch(attachment.url)).text();
    const health = (await (await fetch(`${input.baseUrl}/healthz`)).json()) as { api_version: string };
    return {
      sdkApiVersion: API_VERSION,
      serverApiVersion: health.api_version,
      names: [adaMe.name, bobMe.name],
      listedBy,
      sentId: sent.id,
      retriedId: retried.id,
      received: received.map((m) => ({ id: m.id, content: m.content, attachments: m.attachments.map((a) => a.name) })),
      uploaded: { name: file.name, size: file.size, mime_type: file.mime_type },
      progressComplete,
      downloaded,
    };
  } finally {
    ada.disconnect();
    bob.disconnect();
  }
}
