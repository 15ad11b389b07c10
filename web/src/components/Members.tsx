import { useState } from 'preact/hooks';
import type { Conversation, Member, Role } from '@parley/sdk';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';
import { Avatar } from './Avatar.js';
import { Dialog } from './Dialog.js';
import { PeoplePicker } from './PeoplePicker.js';
import { ChannelVisibilitySwitch } from './ChannelDirectory.js';
import { ReasonDialog } from './admin/ReasonDialog.js';

const ROLES: Role[] = ['admin', 'moderator', 'member'];

/** A group's people and their roles; admins and moderators add and remove, admins change roles. */
export function MembersDialog({ conv, onClose }: { conv: Conversation; onClose: () => void }) {
  const { client, toast, open } = useUi();
  const me = client.user;
  const [title, setTitle] = useState(conv.title ?? '');
  const admin = conv.my_role === 'admin';
  const mod = admin || conv.my_role === 'moderator';
  const fail = (what: string) => (e: unknown) => toast(`${what}: ${errorText(e)}`);

  const canRemove = (m: Member) => m.user.id !== me?.id && (admin || (conv.my_role === 'moderator' && m.role !== 'admin'));

  // A ban or mute, with a reason and a number of hours asked first.
  const [sanctioning, setSanctioning] = useState<{ kind: 'ban' | 'mute'; m: Member } | null>(null);
  const sanction = (kind: 'ban' | 'mute', m: Member) => setSanctioning({ kind, m });
  const apply = ({ kind, m }: { kind: 'ban' | 'mute'; m: Member }, reason: string, until: string | null) =>
    client.rest[kind](conv.id, m.user.id, { reason, until }).then(() => toast(kind === 'ban' ? `${m.user.name} is banned` : `${m.user.name} is muted`), fail(`Could not ${kind}`));

  return (
    <Dialog title={conv.kind === 'channel' ? 'Channel members' : 'Group members'} onClose={onClose} testId="members-dialog">
      <div class="dialog-body">
        {mod && (
          <form
            class="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              client.renameConversation(conv.id, title.trim() || null).catch(fail('Could not rename'));
            }}
          >
            <label class="field grow">
              <span>Name</span>
              <input value={title} maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
            </label>
            <button type="submit" class="secondary">
              Rename
            </button>
          </form>
        )}
        {admin && conv.kind === 'channel' && <ChannelVisibilitySwitch conv={conv} />}
        <ul class="member-list" aria-label="Members">
          {conv.members.map((m) => (
            <li key={m.user.id} class="member" data-testid="member" data-user-id={m.user.id}>
              <Avatar id={m.user.id} name={m.user.name} online={m.online} />
              <span class="row-main">
                <span class="row-title">
                  {m.user.name}
                  {m.user.id === me?.id && ' (you)'}
                </span>
                <span class="row-sub">{m.user.email}</span>
              </span>
              {admin && m.user.id !== me?.id ? (
                <select
                  aria-label={`Role of ${m.user.name}`}
                  value={m.role}
                  onChange={(e) => client.setRole(conv.id, m.user.id, e.currentTarget.value as Role).catch(fail('Could not change the role'))}
                >
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              ) : (
                <span class={`role role-${m.role}`} data-testid="member-role">
                  {m.role}
                </span>
              )}
              {canRemove(m) && (
                <>
                  <button type="button" class="secondary" data-testid="mute-member" onClick={() => sanction('mute', m)}>
                    Mute
                  </button>
                  <button type="button" class="secondary danger" data-testid="ban-member" onClick={() => sanction('ban', m)}>
                    Ban
                  </button>
                </>
              )}
              {canRemove(m) && (
                <button
                  type="button"
                  class="chip-x"
                  aria-label={`Remove ${m.user.name}`}
                  onClick={() => client.removeParticipant(conv.id, m.user.id).catch(fail('Could not remove'))}
                >
                  ×
                </button>
              )}
            </li>
          ))}
        </ul>
        {sanctioning && (
          <ReasonDialog
            title={`${sanctioning.kind === 'ban' ? 'Ban' : 'Mute'} ${sanctioning.m.user.name}`}
            action={sanctioning.kind === 'ban' ? 'Ban' : 'Mute'}
            withHours
            onSubmit={(reason, until) => void apply(sanctioning, reason, until)}
            onClose={() => setSanctioning(null)}
          />
        )}
        {mod && <PeoplePicker excluded={(u) => conv.members.some((m) => m.user.id === u.id)} onPick={(u) => void client.addParticipant(conv.id, u.id).catch(fail('Could not add'))} />}
        <button
          type="button"
          class="secondary danger wide"
          onClick={() =>
            client.leaveConversation(conv.id).then(() => {
              onClose();
              open(null);
            }, fail('Could not leave'))
          }
        >
          Leave
        </button>
      </div>
    </Dialog>
  );
}
