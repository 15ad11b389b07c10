import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ParleyClient } from '@parley/sdk';

export interface ImageView {
  url: string;
  name: string;
}

/** What every part of the chat screen can reach. */
export interface Ui {
  client: ParleyClient;
  toast(text: string): void;
  openImage(image: ImageView): void;
  open(conversationId: number | null): void;
}

export const UiContext = createContext<Ui | null>(null);

export function useUi(): Ui {
  const ui = useContext(UiContext);
  if (!ui) throw new Error('useUi outside the chat screen');
  return ui;
}
