import { useCallback, useState } from 'react';
import { ActivityBar } from './components/ActivityBar';
import { HelpContext } from './components/DisplayControls';
import { HelpPanel } from './components/HelpPanel';
import { UpdateNotice } from './components/UpdateNotice';
import { ControlsPanel } from './components/ControlsPanel';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Header } from './components/Header';
import { InputPane } from './components/InputPane';
import { NoticeBanner } from './components/NoticeBanner';
import { ResultsPane } from './components/ResultsPane';
import { SharePanel } from './components/SharePanel';
import { useHashSync, useKeyboardShortcuts, usePasteImages } from './hooks';
import { usePlaygroundStore } from './storeContext';
import { useStopOnEscape } from './keys';
import { useScrollToResultsOnPhones } from './phone';

export function App() {
  const store = usePlaygroundStore();
  const [helpOpen, setHelpOpen] = useState(false);
  const openHelp = useCallback(() => setHelpOpen(true), []);
  useKeyboardShortcuts(store, openHelp);
  usePasteImages(store);
  useStopOnEscape(store);
  useScrollToResultsOnPhones(store);
  const shareUrl = useHashSync(store);
  return (
    <div className="app">
      <HelpContext value={openHelp}>
        <Header />
      </HelpContext>
      <NoticeBanner />
      <UpdateNotice />
      <ActivityBar />
      <main className="layout">
        <ErrorBoundary name="input pane">
          <InputPane />
        </ErrorBoundary>
        <ErrorBoundary name="results pane">
          <ResultsPane />
        </ErrorBoundary>
        <ErrorBoundary name="controls">
          <ControlsPanel />
        </ErrorBoundary>
        <ErrorBoundary name="share panel">
          <SharePanel shareUrl={shareUrl} />
        </ErrorBoundary>
      </main>
      <HelpPanel open={helpOpen} onClose={() => setHelpOpen(false)} />
      <footer className="app-footer">
        <p>
          Semantic Pyramid (Shocher et al., 2020) and LAG (Berthelot et al., 2020), re-implemented and run client-side
          with TensorFlow.js. Keys: R re-roll, 1–7 level, C compare.
        </p>
      </footer>
    </div>
  );
}
