import type { JobStep } from '../../../../src/api/schemas';
import { kbNumber } from '../../../components/windows-updates';

/** The restart delay Windows PCs get when the job does not say (JobOptions' default). */
export const DEFAULT_RESTART_DELAY_SECONDS = 300;
export const MAX_RESTART_DELAY_SECONDS = 7200;

/** A step on a Windows PC: its updates are KBs, installed by Windows Update. */
export function isWindowsStep(step: Pick<JobStep, 'packageManager' | 'packages'>): boolean {
  return (
    step.packageManager === 'windows-update' ||
    (step.packages.length > 0 && step.packages.every((p) => kbNumber(p.name) !== null))
  );
}

/** A delay in words: "5 minutes", "90 seconds", "1 hour 30 minutes", "no delay". */
export function delayText(seconds: number): string {
  if (seconds <= 0) return 'no delay';
  if (seconds < 120 && seconds % 60 !== 0) return `${seconds} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `${hours} hour${hours === 1 ? '' : 's'}${rest ? ` ${rest} minute${rest === 1 ? '' : 's'}` : ''}`;
}

/**
 * What the PC's signed-in user reads in Windows' own restart notice (shutdown.exe /r /t <delay>
 * /c "<message>"), as the window explains it before the admin approves.
 */
export function restartNoticeText(seconds: number): string {
  return seconds > 0
    ? `When a PC restarts, Windows first shows whoever is signed in its own notice that the PC restarts in ${delayText(seconds)} to finish installing updates, so they can save their work.`
    : 'When a PC restarts, it restarts at once, without time to save open work: only for PCs nobody is signed in to.';
}
