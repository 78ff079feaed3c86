// Shows whatever a pack's `metrics` (or `provenance`) object holds: numbers and words as a list, arrays of records
// (one per level) as a table, nested objects as their own titled list. Nothing is assumed about the keys, so a pack
// with other figures shows them too.

type Json = unknown;

function isRecord(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "classAgreement" -> "class agreement"; "frechetFC7" -> "frechet FC7". */
export function humanKey(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/_/g, ' ')
    .replace(/\b([A-Z])([a-z])/g, (_, a, b) => a.toLowerCase() + b);
}

export function formatValue(value: Json): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number')
    return Number.isInteger(value) ? value.toLocaleString('en') : value.toPrecision(4).replace(/\.?0+$/, '');
  if (typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => !isRecord(v) && !Array.isArray(v)))
    return value.map(formatValue).join(', ');
  return JSON.stringify(value);
}

function RecordTable({ rows, caption }: { rows: Record<string, Json>[]; caption: string }) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return (
    <div
      className="metrics-table-wrap"
      // A wide table scrolls: keyboard users must be able to focus it to scroll it (WCAG 2.1.1).
      // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
      tabIndex={0}
      role="region"
      aria-label={caption}
    >
      <table className="metrics-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {humanKey(column)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={index}>
              {columns.map((column) => (
                <td key={column}>{formatValue(row[column])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function MetricsView({
  value,
  title,
  depth = 0,
}: {
  value: Record<string, Json>;
  title: string;
  depth?: number;
}) {
  const scalars = Object.entries(value).filter(([, v]) => !isRecord(v) && !(Array.isArray(v) && v.some(isRecord)));
  const tables = Object.entries(value).filter(([, v]) => Array.isArray(v) && v.some(isRecord)) as [string, Json[]][];
  const nested = Object.entries(value).filter(([, v]) => isRecord(v)) as [string, Record<string, Json>][];
  const Heading = depth === 0 ? 'h4' : 'h5';
  return (
    <div className="metrics-group">
      {depth > 0 && <Heading>{title}</Heading>}
      {scalars.length > 0 && (
        <dl className="metrics-list">
          {scalars.map(([key, v]) => (
            <div key={key}>
              <dt>{humanKey(key)}</dt>
              <dd>{formatValue(v)}</dd>
            </div>
          ))}
        </dl>
      )}
      {tables.map(([key, rows]) => (
        <RecordTable key={key} caption={humanKey(key)} rows={rows.filter(isRecord)} />
      ))}
      {nested.map(([key, v]) => (
        <MetricsView key={key} value={v} title={humanKey(key)} depth={depth + 1} />
      ))}
    </div>
  );
}
