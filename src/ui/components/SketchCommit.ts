// Makes a drawing (or a composite) the source: the canvas as a PNG through openImageBlob, the same path, size
// handling and notes as a dropped file. The element's data-commits (how many were started) and data-busy (one is
// still being prepared or analysed) let people's tools and the tests know when the source has caught up.
import type { PlaygroundStore } from '../../state/store';

/** `marker`: the element that carries data-commits and data-busy (default: the canvas itself). */
export function commitCanvasAsSource(
  store: PlaygroundStore,
  canvas: HTMLCanvasElement,
  name: string,
  after?: () => void,
  marker: HTMLElement = canvas,
): void {
  const state = marker.dataset;
  state.pending = String(Number(state.pending ?? 0) + 1);
  state.busy = 'true';
  state.commits = String(Number(state.commits ?? 0) + 1);
  const done = () => {
    const left = Math.max(0, Number(state.pending ?? 1) - 1);
    state.pending = String(left);
    state.busy = String(left > 0);
  };
  canvas.toBlob((blob) => {
    if (!blob) {
      store.getState().reportError('input', `The ${name} could not be turned into an image.`);
      done();
      return;
    }
    store
      .getState()
      .openImageBlob(new File([blob], `${name}.png`, { type: 'image/png' }), name)
      .then(after)
      .finally(done);
  }, 'image/png');
}
