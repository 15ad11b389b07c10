import sharp from 'sharp';
import { DomainError } from '../../core/errors.js';
import { checkImageHeader, undecodableImage, type ImageFacts, type ImageInput, type ImageInspector, type ImageLimits } from '../../core/files/ports.js';

// libvips' operation cache keeps decoded images around; uploads are seen once.
sharp.cache(false);
// One libvips thread per image: MediaPool bounds how many images are decoded at once, and
// this keeps each of them to one core, so the event loop keeps one for itself.
sharp.concurrency(1);

const SHARP_FORMAT: Record<string, string> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp' };
const THUMBNAIL_SIDE = 320;

/**
 * sharp (libvips): reads the header (metadata() decodes no pixels), refuses what would cost
 * too much (checkImageHeader), then decodes the first frame into a WebP thumbnail.
 */
export class SharpImageInspector implements ImageInspector {
  async inspect(image: ImageInput, mime: string, limits: ImageLimits): Promise<ImageFacts> {
    const options = { failOn: 'error', limitInputPixels: limits.maxPixels, sequentialRead: true } as const;
    try {
      // The header only: libvips decodes no pixel for metadata(), so its own pixel limit is
      // left to the decode below and the header check gives the reason in full.
      const meta = await sharp(image, { failOn: 'error', limitInputPixels: false }).metadata();
      if (meta.format !== SHARP_FORMAT[mime]) throw new DomainError('invalid_file', `The image could not be decoded as ${mime}`);
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
      if (/pixel limit/i.test(message)) throw undecodableImage(`more than ${limits.maxPixels} pixels`);
      if (/timeout/i.test(message)) throw undecodableImage(`it takes longer than ${Math.ceil(limits.timeoutMs / 1000)} s`);
      throw undecodableImage('it is damaged or not what it claims to be');
    }
  }
}
