import type { ReactNode } from 'react';

/** What a page will hold once its capability exists — never fake data. */
export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="empty-state" aria-label={title}>
      <h2>{title}</h2>
      <div className="empty-body">{children}</div>
    </section>
  );
}
