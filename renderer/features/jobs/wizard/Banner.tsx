import type { ReactNode } from 'react';

export type BannerTone = 'error' | 'warning' | 'muted';

/**
 * Every message the wizard shows, in one of three tones. `role` is how a screen reader hears it:
 * 'alert' for a failure, 'status' for progress or advice that changes; none for a standing text.
 * `wide` is the page-wide banner look; `inline` sits in a row of buttons. With nothing to say
 * (null, false or '') it shows nothing, so a message kept in state is handed in as it is.
 */
export function Banner({
  tone,
  role,
  small = false,
  wide = false,
  inline = false,
  testId,
  children,
}: {
  tone: BannerTone;
  role?: 'alert' | 'status';
  small?: boolean;
  wide?: boolean;
  inline?: boolean;
  testId?: string;
  children: ReactNode;
}) {
  if (children === null || children === undefined || children === false || children === '') return null;
  const className = [tone, wide && 'banner', small && 'small'].filter(Boolean).join(' ');
  const Tag = inline ? 'span' : 'p';
  return (
    <Tag role={role} className={className} data-testid={testId}>
      {children}
    </Tag>
  );
}
