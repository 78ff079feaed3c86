// What is running and how far it is, with a way to stop it: the pack load's single forward-only progress bar with
// its named stages, and the Stop button (`cancel`, also Escape) for a pack load, a grid or a LAG run. The status
// line in the header carries the screen-reader announcement (it changes with the stage only); the byte counts here
// are not announced.
import { useState } from 'react';
import { isStoppable } from '../../state/slices/runs';
import { LOAD_STAGES, STAGE_LABELS, nextLoadView } from '../loadProgress';
import { formatBytes } from '../../state/packFiles';
import { usePlayground } from '../storeContext';

function LoadProgressBar() {
  const status = usePlayground((s) => s.packStatus);
  // The bar's previous figure is state derived from the statuses seen so far (React's "previous render" pattern).
  const [seen, setSeen] = useState(status);
  const [view, setView] = useState(() => nextLoadView(null, status));
  if (seen !== status) {
    setSeen(status);
    setView(nextLoadView(view, status));
  }
  if (!view || !status.stage) return null;
  const current = LOAD_STAGES.indexOf(status.stage);
  const detail =
    status.stage === 'download' && status.total > 0
      ? `${formatBytes(status.loaded)} of ${formatBytes(status.total)}`
      : '';
  return (
    <div className="load-progress">
      <progress
        data-testid="load-progress"
        value={view.fraction}
        max={1}
        aria-label={`Loading the model pack: ${STAGE_LABELS[status.stage]}`}
      />
      <ol className="load-stages" aria-hidden="true">
        {LOAD_STAGES.filter((s) => s !== 'manifest').map((stage) => {
          const index = LOAD_STAGES.indexOf(stage);
          const state = index < current ? 'done' : index === current ? 'current' : 'todo';
          return (
            <li key={stage} className={`load-stage ${state}`} data-stage={stage}>
              {STAGE_LABELS[stage]}
            </li>
          );
        })}
      </ol>
      <span className="load-detail" data-testid="load-detail">
        {view.fromCache ? 'from cache' : detail}
      </span>
    </div>
  );
}

export function ActivityBar() {
  const stoppable = usePlayground(isStoppable);
  const stop = usePlayground((s) => s.stop);
  const runAgain = usePlayground((s) => s.runAgain);
  const loadPack = usePlayground((s) => s.loadPack);
  const packStatus = usePlayground((s) => s.packStatus);
  const stopped = usePlayground((s) => (s.mode === 'sp' ? s.grid?.status === 'stopped' : s.lag?.status === 'stopped'));
  const packStopped =
    packStatus.phase === 'error' && packStatus.message === 'Loading was stopped.' && packStatus.packId;
  if (!stoppable && !stopped && !packStopped) {
    // Idle, the bar keeps its place (an invisible Stop button gives it the running bar's height), so that a run
    // starting or ending never moves the page under a pointer that is drawing, painting a mask or placing an image.
    return (
      <div className="activity-bar idle" aria-hidden="true">
        <button type="button" className="stop-button" tabIndex={-1} disabled>
          Stop
        </button>
      </div>
    );
  }
  return (
    <div className="activity-bar" data-testid="activity-bar">
      <LoadProgressBar />
      {stoppable && (
        <button type="button" className="stop-button" data-testid="cancel" onClick={stop} title="Stop (Escape)">
          Stop
        </button>
      )}
      {!stoppable && stopped && (
        <button type="button" data-testid="run-again" onClick={runAgain}>
          Stopped. Generate again
        </button>
      )}
      {!stoppable && packStopped && (
        <button type="button" data-testid="load-again" onClick={() => void loadPack(packStatus.packId!)}>
          Pack loading stopped. Load it again
        </button>
      )}
    </div>
  );
}
