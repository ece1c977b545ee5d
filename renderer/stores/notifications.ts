import type { AppNotification } from '../../src/api/schemas';
import { api } from '../api';

/**
 * Browser mode: the core sends a `notification` event when work finishes (the desktop app shows
 * OS notifications itself and never sends one). It is shown only once this browser has allowed
 * notifications for the page, which Settings asks for on the user's click.
 */
export function canNotify(): boolean {
  return typeof Notification !== 'undefined' && Notification.permission === 'granted';
}

export function showNotification(n: AppNotification): void {
  if (!canNotify()) return;
  const notification = new Notification(n.title, { body: n.body });
  notification.onclick = () => {
    window.focus();
    notification.close();
  };
}

api.on('notification', showNotification);
