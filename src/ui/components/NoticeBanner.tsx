import { usePlayground } from '../storeContext';

/** Errors and warnings, newest last, each dismissable. Rendered only when there is something to say. */
export function NoticeBanner() {
  const errors = usePlayground((s) => s.errors);
  const warnings = usePlayground((s) => s.warnings);
  const dismiss = usePlayground((s) => s.dismissNotice);
  if (errors.length === 0 && warnings.length === 0) return null;
  return (
    <section className="notice-banner" data-testid="error-banner" aria-label="Messages">
      <ul role="alert">
        {errors.map((notice) => (
          <NoticeItem key={notice.id} kind="error" message={notice.message} onDismiss={() => dismiss(notice.id)} />
        ))}
      </ul>
      <ul role="status">
        {warnings.map((notice) => (
          <NoticeItem key={notice.id} kind="warning" message={notice.message} onDismiss={() => dismiss(notice.id)} />
        ))}
      </ul>
    </section>
  );
}

function NoticeItem({
  kind,
  message,
  onDismiss,
}: {
  kind: 'error' | 'warning';
  message: string;
  onDismiss: () => void;
}) {
  return (
    <li className={`notice ${kind}`}>
      <span className="notice-kind">{kind === 'error' ? 'Error' : 'Note'}</span>
      <span className="notice-text">{message}</span>
      <button type="button" className="dismiss" aria-label="Dismiss this message" onClick={onDismiss}>
        ×
      </button>
    </li>
  );
}
