/**
 * `cx get … --watch`: what to print when a list is read again. Like kubectl, the table's header
 * and rows come first, then only the rows that are new or changed, and a line for each item that
 * went away. Pure: the command reads, this decides.
 */
export interface WatchState {
  /** Each item's key and what it was when last printed (its JSON: ages in a row change by themselves). */
  printed: Map<string, string>;
}

/** An item of a new read: its key, its content to compare, and its row as printed. */
export interface WatchedItem {
  key: string;
  content: string;
  row: string;
}

export interface WatchUpdate {
  /** Rows to print (already rendered), in the list's order. */
  rows: string[];
  /** Keys of the items no longer listed. */
  gone: string[];
  state: WatchState;
}

/** Compares a new read (in the list's order) with what was printed. */
export function watchUpdate(state: WatchState, current: WatchedItem[]): WatchUpdate {
  const printed = new Map<string, string>();
  const rows: string[] = [];
  for (const { key, content, row } of current) {
    printed.set(key, content);
    if (state.printed.get(key) !== content) rows.push(row);
  }
  const gone = [...state.printed.keys()].filter((key) => !printed.has(key));
  return { rows, gone, state: { printed } };
}
