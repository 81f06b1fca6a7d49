/** Small helpers the admin pages share. */

/** How often an admin list is read again while its page is open. */
export const REFRESH_MS = 10_000;

/** The value of the field an input event came from. */
export const typed = (e: Event): string => (e.currentTarget as HTMLInputElement).value;

/** A time in the reader's locale, or a dash for none. */
export const when = (at: string | null): string => (at ? new Date(at).toLocaleString() : '—');
