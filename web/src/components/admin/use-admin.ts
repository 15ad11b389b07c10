import { useCallback, useEffect, useState } from 'preact/hooks';
import { errorText } from '../../session.js';

/** Loads `load` once and again on `reload`; `act` runs an action, then reloads, keeping its error to show. */
export function useAdminData<T>(load: () => Promise<T>) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => load().then(setData, (e) => setError(errorText(e))), [load]);
  useEffect(() => void reload(), [reload]);
  const act = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    }
    await reload();
  };
  return { data, error, act };
}
