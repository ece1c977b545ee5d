import type { ReactNode } from 'react';

/** One option of a radio group, its text beside it. */
export function RadioChoice({
  name,
  checked,
  onChoose,
  children,
}: {
  name: string;
  checked: boolean;
  onChoose: () => void;
  children: ReactNode;
}) {
  return (
    <label className="inline">
      <input type="radio" name={name} checked={checked} onChange={onChoose} />
      {children}
    </label>
  );
}

/** A required local date and time, as `<input type="datetime-local">` holds it. */
export function DateTimeField({
  label,
  value,
  onChange,
  className,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  className?: string;
}) {
  return (
    <label className={className}>
      {label}
      <input type="datetime-local" value={value} required onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}
