/**
 * A recording (MediaRecorder's WebM/Opus or Ogg) as 16-bit mono PCM WAV: the voice formats
 * Parley's chat policy accepts are MP3 and WAV, and a browser records neither.
 */
export async function toWav(recording: Blob, sampleRate = 16_000): Promise<{ wav: Blob; duration: number }> {
  const bytes = await recording.arrayBuffer();
  // An OfflineAudioContext decodes without a user gesture or an audio device.
  const decoded = await new OfflineAudioContext(1, 1, sampleRate).decodeAudioData(bytes);
  const frames = Math.max(1, Math.ceil(decoded.duration * sampleRate));
  const ctx = new OfflineAudioContext(1, frames, sampleRate);
  const src = ctx.createBufferSource();
  src.buffer = decoded;
  src.connect(ctx.destination);
  src.start();
  const pcm = (await ctx.startRendering()).getChannelData(0);
  return { wav: encodeWav(pcm, sampleRate), duration: decoded.duration };
}

export function encodeWav(samples: Float32Array, sampleRate: number): Blob {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const str = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  str(0, 'RIFF');
  v.setUint32(4, 36 + samples.length * 2, true);
  str(8, 'WAVE');
  str(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, 'data');
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([buf], { type: 'audio/wav' });
}
