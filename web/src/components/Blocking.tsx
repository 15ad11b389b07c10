import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../session.js';
import { useUi } from '../ui.js';

/**
 * Block or unblock the person of a direct conversation (issue 20, the trust issue's blocks):
 * a block stops what either would send in it, and their adding me to groups.
 */
export function BlockButton({ userId, name }: { userId: number; name: string }) {
  const { client, toast } = useUi();
  const [blocked, setBlocked] = useState<boolean | null>(null);
  useEffect(() => {
    client.rest.blocks().then((list) => setBlocked(list.some((b) => b.user.id === userId)), () => setBlocked(null));
  }, [client, userId]);
  if (blocked === null) return null;
  const toggle = () =>
    (blocked ? client.rest.unblock(userId) : client.rest.block(userId)).then(
      () => {
        setBlocked(!blocked);
        toast(blocked ? `${name} is unblocked` : `${name} is blocked`);
      },
      (e) => toast(`Could not ${blocked ? 'unblock' : 'block'}: ${errorText(e)}`),
    );
  return (
    <button type="button" class="secondary" data-testid="block-button" onClick={() => void toggle()}>
      {blocked ? 'Unblock' : 'Block'}
    </button>
  );
}
