import { useState } from 'react';

interface Props {
  label: string;
  value: number;
  min: number;
  max: number;
  testId: string;
  onCommit(value: number): void;
  id: string;
}

/** A whole-number input that lets people type freely and only commits valid values (Enter, blur or valid text). */
export function NumberField({ label, value, min, max, testId, onCommit, id }: Props) {
  const [draft, setDraft] = useState(String(value));
  const [shownValue, setShownValue] = useState(value);
  if (value !== shownValue) {
    // A new value from outside (a re-roll, a link) shows in this same render, not one effect later: the field
    // never shows a seed other than the one the grid beside it is being made with.
    setShownValue(value);
    setDraft(String(value));
  }
  const valid = /^\d+$/.test(draft) && Number(draft) >= min && Number(draft) <= max;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        step={1}
        value={draft}
        aria-invalid={!valid}
        data-testid={testId}
        onChange={(e) => {
          setDraft(e.target.value);
          if (/^\d+$/.test(e.target.value)) {
            const n = Number(e.target.value);
            if (n >= min && n <= max) onCommit(n);
          }
        }}
        onBlur={() => setDraft(String(value))}
      />
      {!valid && (
        <span className="field-error">
          Enter a whole number from {min} to {max}.
        </span>
      )}
    </div>
  );
}
