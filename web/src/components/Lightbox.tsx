import { useEffect, useRef } from 'preact/hooks';
import { Icon } from '../icons.js';
import type { ImageView } from '../ui.js';

/** An image at full size over the page; Escape, the close button or a click outside closes it. */
export function Lightbox({ image, onClose }: { image: ImageView; onClose: () => void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, []);
  return (
    <div class="lightbox" role="dialog" aria-modal="true" aria-label={image.name} data-testid="lightbox" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="lightbox-bar">
        <span class="lightbox-name">{image.name}</span>
        <a href={image.url} target="_blank" rel="noopener noreferrer" class="text-button">
          Open original
        </a>
        <button ref={close} type="button" class="icon-button" aria-label="Close image" onClick={onClose}>
          <Icon name="close" />
        </button>
      </div>
      <img src={image.url} alt={image.name} data-testid="lightbox-image" />
    </div>
  );
}
