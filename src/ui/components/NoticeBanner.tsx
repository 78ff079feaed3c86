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
          <li key={notice.id} className="notice error">
            <span className="notice-kind">Error</span>
            <span className="notice-text">{notice.message}</span>
            <button type="button" className="dismiss" aria-label="Dismiss this message" onClick={() => dismiss(notice.id)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      <ul role="status">
        {warnings.map((notice) => (
          <li key={notice.id} className="notice warning">
            <span className="notice-kind">Note</span>
            <span className="notice-text">{notice.message}</span>
            <button type="button" className="dismiss" aria-label="Dismiss this message" onClick={() => dismiss(notice.id)}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
