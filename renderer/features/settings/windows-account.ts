/**
 * What is wrong with a Windows account as typed, before it is sent (the core checks it again,
 * fully): it must say whose account it is, a domain's, the PC's own (.\), or a realm's.
 */
export function windowsAccountProblem(text: string): string | null {
  const account = text.trim();
  if (account === '') return null;
  const slash = account.indexOf('\\');
  if (slash === 0) return 'Write the domain before the backslash, or a dot for a local account: .\\admin.';
  if (slash > 0) return account.length > slash + 1 ? null : 'Write the user name after the backslash.';
  const at = account.lastIndexOf('@');
  if (at > 0 && at < account.length - 1) return null;
  if (at >= 0) return 'Write both the user and the realm: alice@patchdeck.example.';
  return `“${account.slice(0, 64)}” names no domain: write PATCHDECK\\${account.slice(0, 64)} for a domain account or .\\${account.slice(0, 64)} for a local account of the PC.`;
}
