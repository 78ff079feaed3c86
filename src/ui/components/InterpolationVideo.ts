// The interpolation as a WebM video next to the GIF: the frames in ping-pong order painted on a canvas whose stream
// MediaRecorder encodes (VP9 or VP8, whichever the browser has). MediaRecorder records in real time, so each frame
// is held on the canvas for its display time; the video takes as long to make as it lasts.
import type { RgbaImage } from '../../engine/protocol';
import { upscaleNearest } from '../pixels';
import { pingPongOrder } from './InterpolationExport';

const WEBM_TYPES = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'];

function webmType(): string | null {
  if (typeof MediaRecorder === 'undefined' || typeof HTMLCanvasElement.prototype.captureStream !== 'function')
    return null;
  return WEBM_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) ?? null;
}

/** Whether this browser can record a canvas as WebM (Safari, for one, records MP4 only). */
export function canRecordWebm(): boolean {
  return webmType() !== null;
}

/** One loop of the frames (ping-pong), each shown `delayMs`, as a WebM video. */
export async function recordAnimationWebm(
  frames: RgbaImage[],
  options: { scale: number; delayMs: number },
): Promise<Blob> {
  const mimeType = webmType();
  if (!mimeType) throw new Error('this browser cannot record WebM video');
  if (frames.length === 0) throw new Error('there are no frames to export');
  const large = frames.map((frame) => upscaleNearest(frame, options.scale));
  const canvas = document.createElement('canvas');
  canvas.width = large[0].width;
  canvas.height = large[0].height;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no 2D canvas to draw the video on');
  // Frame rate 0: a frame enters the stream only when requested, once it is painted.
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
  const recorder = new MediaRecorder(stream, { mimeType });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (event) => {
    if (event.data.size > 0) chunks.push(event.data);
  };
  const finished = new Promise<void>((resolve, reject) => {
    recorder.onstop = () => resolve();
    recorder.onerror = () => reject(new Error('the video recorder failed'));
  });
  recorder.start();
  try {
    for (const index of pingPongOrder(frames.length)) {
      const frame = large[index];
      context.putImageData(new ImageData(new Uint8ClampedArray(frame.data), frame.width, frame.height), 0, 0);
      track.requestFrame();
      await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    }
  } finally {
    recorder.stop();
    for (const streamTrack of stream.getTracks()) streamTrack.stop();
  }
  await finished;
  return new Blob(chunks, { type: 'video/webm' });
}
