import { useId, type ReactNode } from 'react';

/**
 * A label tied to its control by id. Wrapping a <select> or <textarea> in its <label> would make
 * the control's current text part of its accessible name ("Ports default — …"), so screen
 * readers and getByLabel would see a name that changes as the user types.
 */
export function Field({
  label,
  hint,
  className,
  children,
}: {
  label: ReactNode;
  hint?: ReactNode;
  className?: string;
  children: (id: string) => ReactNode;
}) {
  const id = useId();
  return (
    <div className={`field${className ? ` ${className}` : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {hint && <span className="muted small">{hint}</span>}
    </div>
  );
}
