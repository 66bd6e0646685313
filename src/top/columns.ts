// Tables that fit a width: columns dropped by priority when the terminal is narrow, the name column widened when it
// is wide, every cell cut to its column with a mark. Lines are segments of text with a style, so the Ink view can
// colour them and the tests can measure them.

export type Color = 'red' | 'green' | 'yellow' | 'cyan';

export interface Segment {
  text: string;
  color?: Color;
  dim?: boolean;
  bold?: boolean;
  inverse?: boolean;
}

/** One terminal row. */
export type ScreenLine = Segment[];

export interface Column<R> {
  header: string;
  /** Its width; the flexible column's least width. */
  width: number;
  /** 0 is kept at any width; higher numbers are dropped first. */
  priority: number;
  right?: boolean;
  /** The one column that takes the room left (the name): it grows up to its longest cell. */
  flex?: boolean;
  cell: (row: R) => Segment | string;
}

export const GAP = 2;
const MARK = '…';

/** The text of a line, as the terminal shows it. */
export function lineText(line: ScreenLine): string {
  return line.map((s) => s.text).join('');
}

/** `text` cut to `width` characters, a mark in the last when cut. */
export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, width - 1)}${MARK}`;
}

/** The line cut to `width`, the cut marked: nothing is ever drawn past the terminal's edge. */
export function clipLine(line: ScreenLine, width: number): ScreenLine {
  const out: ScreenLine = [];
  let used = 0;
  const total = line.reduce((a, s) => a + s.text.length, 0);
  for (const segment of line) {
    if (used >= width) break;
    const room = width - used;
    const text = total > width && segment.text.length >= room ? clip(`${segment.text}${MARK}`, room) : segment.text;
    out.push({ ...segment, text: text.slice(0, room) });
    used += Math.min(text.length, room);
  }
  return out;
}

/** The columns kept at `width`, each with the width it gets, in their own order. */
export function fitColumns<R>(columns: Column<R>[], width: number, rows: R[]): Array<Column<R> & { w: number }> {
  const byPriority = [...columns].sort((a, b) => a.priority - b.priority);
  const kept = new Set<Column<R>>();
  let used = 0;
  for (const column of byPriority) {
    const need = column.width + (kept.size > 0 ? GAP : 0);
    if (used + need > width) break;
    kept.add(column);
    used += need;
  }
  return columns
    .filter((c) => kept.has(c))
    .map((c) => {
      if (!c.flex) return { ...c, w: c.width };
      const longest = Math.max(c.header.length, ...rows.map((r) => segment(c.cell(r)).text.length));
      return { ...c, w: Math.max(c.width, Math.min(c.width + width - used, longest)) };
    });
}

export interface TableOptions<R> {
  columns: Column<R>[];
  rows: R[];
  width: number;
  /** Lines for the header and the rows; rows past it are scrolled to keep the selected one in view. */
  height: number;
  /** The flexible column's header is the table's title: "TOPICS 12", "TOPICS 4–9/12" when not all rows show. */
  title: string;
  /** Whether the title counts the rows (a panel does; a table of details does not). */
  counted?: boolean;
  /** The selected row, highlighted when `focused`. */
  selected?: number;
  focused?: boolean;
}

/** A header line and as many rows as fit, the rows scrolled around the selected one. */
export function tableLines<R>(options: TableOptions<R>): ScreenLine[] {
  const { rows, height, width, focused } = options;
  const room = Math.max(0, height - 1);
  const selected = Math.min(options.selected ?? 0, Math.max(0, rows.length - 1));
  const start = Math.max(0, Math.min(selected - Math.floor(room / 2), rows.length - room));
  const shown = rows.slice(start, start + room);
  const count = shown.length < rows.length ? `${start + 1}–${start + shown.length}/${rows.length}` : `${rows.length}`;
  const columns = fitColumns(options.columns, width, rows);
  const title = options.counted === false ? options.title : `${options.title} ${count}`;
  const titled = columns.map((c) => (c.flex ? { ...c, header: title } : c));
  const header = cells(
    titled.map((c) => ({ text: c.header, bold: true, ...(c.flex && focused ? { inverse: true, color: 'cyan' } : {}) })),
    titled,
  );
  const lines = shown.map((row, i) => {
    const line = cells(
      titled.map((c) => segment(c.cell(row))),
      titled,
    );
    return focused && start + i === selected ? line.map((s) => ({ ...s, inverse: true })) : line;
  });
  return [header, ...lines].map((line) => clipLine(line, width));
}

function cells<R>(values: Segment[], columns: Array<Column<R> & { w: number }>): ScreenLine {
  const line: ScreenLine = [];
  values.forEach((value, i) => {
    const column = columns[i]!;
    const text = clip(value.text, column.w);
    const pad = ' '.repeat(column.w - text.length);
    if (i > 0) line.push({ text: ' '.repeat(GAP) });
    line.push({ ...value, text: column.right ? pad + text : text + pad });
  });
  return line;
}

function segment(value: Segment | string): Segment {
  return typeof value === 'string' ? { text: value } : value;
}
