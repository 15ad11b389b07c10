import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { ArchiveEntry, ArchivePacker } from '../../core/export/ports.js';

/** Exports as a tar (tar-stream): each entry's header, then its bytes piped in, one entry at a time. */
export class TarPacker implements ArchivePacker {
  readonly mediaType = 'application/x-tar';
  readonly extension = 'tar';

  pack(entries: AsyncIterable<ArchiveEntry>): Readable {
    const tar = pack();
    void (async () => {
      try {
        for await (const e of entries) {
          const sink = tar.entry({ name: e.name, size: e.size, mtime: new Date(0) });
          await pipeline(await e.open(), sink);
        }
        tar.finalize();
      } catch (err) {
        tar.destroy(err as Error);
      }
    })();
    return tar as unknown as Readable;
  }
}
