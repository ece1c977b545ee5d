import { Fragment, type ReactNode } from 'react';

export interface RadioOption<T extends string> {
  id: T;
  label: ReactNode;
}

/** A radio group, each option's text beside it; `after` shows what belongs below an option. */
export function RadioGroup<T extends string>({
  name,
  options,
  value,
  onChoose,
  after,
}: {
  name: string;
  options: readonly RadioOption<T>[];
  value: T;
  onChoose: (id: T) => void;
  after?: (id: T) => ReactNode;
}) {
  return (
    <>
      {options.map((o) => (
        <Fragment key={o.id}>
          <label className="inline">
            <input type="radio" name={name} checked={value === o.id} onChange={() => onChoose(o.id)} />
            {o.label}
          </label>
          {after?.(o.id)}
        </Fragment>
      ))}
    </>
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
