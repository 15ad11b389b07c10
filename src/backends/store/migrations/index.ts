import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';
import { attachmentPaths } from './0002-attachment-paths.js';
import { clientIdPerConversation } from './0003-client-id-per-conversation.js';
import { accounts } from './0004-accounts.js';
import { filesQuotaPurge } from './0005-files-quota-purge.js';
import { blocksMemberCount } from './0006-blocks-member-count.js';
import { sentSeq } from './0007-sent-seq.js';
import { epoch } from './0008-epoch.js';
import { search } from './0009-search.js';
import { threadsUnread } from './0010-threads-unread.js';
import { curation } from './0011-curation.js';
import { channelVisibility } from './0012-channel-visibility.js';
import { notifications } from './0013-notifications.js';
import { unreadUncounted } from './0017-unread-uncounted.js';
import { emailDigest } from './0018-email-digest.js';
import { webhooks } from './0014-webhooks.js';
import { bots } from './0015-bots.js';
import { eventsSequence } from './0020-events-sequence.js';
import { auditLog } from './0023-audit-log.js';
import { retention } from './0024-retention.js';
import { administration } from './0021-administration.js';
import { moderation } from './0022-moderation.js';
import { tenantNotifyContent } from './0025-tenant-notify-content.js';
import { changeIndexChangedOnly } from './0026-change-index-changed-only.js';
import { pushAllMembers } from './0027-push-all-members.js';
import { refuseUnless } from './0028-refuse-unless.js';

export type SqlDialectName = 'sqlite' | 'postgres';

/** A migration that may need to know which database it runs on (autoincrement keys differ). */
export interface VersionedMigration {
  name: string;
  up(db: Kysely<any>, dialect: SqlDialectName): Promise<void>;
}

/** In order; never edit one that has shipped, add the next. */
export const MIGRATIONS: VersionedMigration[] = [initial, attachmentPaths, clientIdPerConversation, accounts, filesQuotaPurge, blocksMemberCount, sentSeq, epoch, search, threadsUnread, curation, channelVisibility, notifications, webhooks, bots, unreadUncounted, emailDigest, eventsSequence, administration, moderation, auditLog, retention, tenantNotifyContent, changeIndexChangedOnly, pushAllMembers, refuseUnless];

export function migrationProvider(dialect: SqlDialectName): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of MIGRATIONS) out[m.name] = { up: (db) => m.up(db, dialect) };
      return out;
    },
  };
}
