import type { default as Sharp } from 'sharp';
import { DomainError, refusal } from '../../core/errors.js';
import { checkImageHeader, type ImageFacts, type ImageInput, type ImageInspector, type ImageLimits } from '../../core/files/ports.js';

// sharp (libvips) is loaded with the first image, not at start: with file-type it is about a
// tenth of a restart's time.
let sharpLoaded: Promise<typeof Sharp> | null = null;
function loadSharp(): Promise<typeof Sharp> {
  return (sharpLoaded ??= import('sharp').then(({ default: sharp }) => {
    // libvips' operation cache keeps decoded images around; uploads are seen once.
    sharp.cache(false);
    // One libvips thread per image: MediaPool bounds how many images are decoded at once, and
    // this keeps each of them to one core, so the event loop keeps one for itself.
    sharp.concurrency(1);
    return sharp;
  }));
}

const SHARP_FORMAT: Record<string, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' };
const THUMBNAIL_SIDE = 320;

/**
 * sharp (libvips): reads the header (metadata() decodes no pixels), refuses what would cost
 * too much (checkImageHeader), then decodes the first frame into a WebP thumbnail.
 */
export class SharpImageInspector implements ImageInspector {
  async inspect(image: ImageInput, mime: string, limits: ImageLimits): Promise<ImageFacts> {
    const options = { failOn: 'error', limitInputPixels: limits.maxPixels, sequentialRead: true } as const;
    const sharp = await loadSharp(); // outside the try: a sharp that cannot load is no bad image
    try {
      // The header only: libvips decodes no pixel for metadata(), so its own pixel limit is
      // left to the decode below and the header check gives the reason in full.
      const meta = await sharp(image, { failOn: 'error', limitInputPixels: false }).metadata();
      if (meta.format !== SHARP_FORMAT[mime]) throw refusal('image_wrong_format', { mime });
      const { width, height } = checkImageHeader(meta, limits);
      const swap = (meta.orientation ?? 1) >= 5;
      const thumbnail = await sharp(image, options)
        .timeout({ seconds: Math.max(1, Math.ceil(limits.timeoutMs / 1000)) })
        .rotate()
        .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 70 })
        .toBuffer();
      return { width: swap ? height : width, height: swap ? width : height, thumbnail };
    } catch (e) {
      if (e instanceof DomainError) throw e;
      const message = (e as Error).message;
      if (/pixel limit/i.test(message)) throw refusal('image_over_pixel_limit', { max: limits.maxPixels });
      if (/timeout/i.test(message)) throw refusal('image_timeout', { seconds: Math.ceil(limits.timeoutMs / 1000) });
      throw refusal('image_damaged');
    }
  }
}
