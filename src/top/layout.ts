// The screen of `pbx top` as rows of text: (snapshot, terminal size, UI state) → lines, pure, so the unit tests check
// it at 80×24 and 200×60 from fixed snapshots and the Ink view only draws what this returns. Panels share the height
// (each gets its header and a row, then more rows in turn, the focused panel first); columns drop by priority with
// the width; whatever is cut is marked.
import { clipLine, lineText, tableLines, type ScreenLine, type Segment } from './columns';
import { detailLines } from './details';
import { clamp, PANELS, selectedIndex, type OnScreen, type PanelName, type UiState } from './keys';
import {
  GROUP_COLUMNS,
  NAME_OF,
  panelRows,
  PIPELINE_COLUMNS,
  REPLAY_COLUMNS,
  SERVICE_COLUMNS,
  TITLES,
  topicColumns,
  type PanelRows,
} from './panels';
import { shortDuration } from './format';
import type { Snapshot } from './snapshot';

export interface TerminalSize {
  columns: number;
  rows: number;
}

export interface ScreenInput {
  /** The latest snapshot; undefined before the first. */
  snapshot?: Snapshot;
  size: TerminalSize;
  ui: UiState;
  /** The collector failed outright (it threw) since this time, with this message; the last snapshot stays shown. */
  failure?: { message: string; since: number };
  /** Now, ms since the epoch: how long Kafka has been down. */
  now: number;
}

export interface Screen {
  lines: ScreenLine[];
  /** What the keys act on: the rows as drawn. */
  onScreen: OnScreen;
}

/**
 * At most one row less than the terminal: a frame as tall as the terminal makes Ink clear the screen and its
 * scrollback at every redraw.
 */
export function layoutScreen(input: ScreenInput): Screen {
  const { size, ui, snapshot } = input;
  const width = Math.max(1, size.columns);
  const height = Math.max(1, size.rows - 1);
  const rows = panelRows(snapshot, ui.filter);
  const names = Object.fromEntries(PANELS.map((p) => [p, rows[p].map((r) => NAME_OF[p](r as never))])) as Record<
    PanelName,
    string[]
  >;
  const top = [headerLine(input), ...bannerLines(input)];
  const room = Math.max(0, height - top.length - 1);
  const body = bodyLines(input, rows, width, room);
  const lines = [...top, ...body.lines.slice(0, room), helpLine(ui, width)].map((l) => clipLine(l, width));
  return {
    lines: lines.slice(0, height),
    onScreen: { names, detailLines: body.detailLines, detailRoom: body.detailRoom, page: body.page },
  };
}

/** The screen as plain text, one line a row (tests, and a check of what Ink is given). */
export function screenText(screen: Screen): string {
  return screen.lines.map(lineText).join('\n');
}

interface Body {
  lines: ScreenLine[];
  detailLines: number;
  detailRoom: number;
  page: number;
}

function bodyLines(input: ScreenInput, rows: PanelRows, width: number, room: number): Body {
  const { snapshot, ui } = input;
  if (ui.help) return { lines: HELP.map((l) => [l]), detailLines: 0, detailRoom: room, page: room };
  if (!snapshot) return { lines: [[{ text: 'collecting the first snapshot…', dim: true }]], ...noDetail(room) };
  if (ui.detail) {
    const all = detailLines(snapshot, ui.detail, width);
    const scroll = clamp(ui.detail.scroll, 0, Math.max(0, all.length - room + 1));
    if (all.length <= room) return { lines: all, detailLines: all.length, detailRoom: room, page: room };
    const shown = all.slice(scroll, scroll + room - 1);
    const more = `↑↓ lines ${scroll + 1}–${scroll + shown.length} of ${all.length}`;
    return {
      lines: [...shown, [{ text: more, dim: true }]],
      detailLines: all.length,
      detailRoom: room - 1,
      page: room - 1,
    };
  }
  return panelsBody(input, rows, width, room);
}

function noDetail(room: number) {
  return { detailLines: 0, detailRoom: room, page: room };
}

function panelsBody(input: ScreenInput, rows: PanelRows, width: number, room: number): Body {
  const { ui } = input;
  const heights = shareHeight(rows, ui.panel, room);
  const lines: ScreenLine[] = [];
  for (const panel of PANELS) {
    const height = heights[panel];
    if (height === 0) continue;
    lines.push(...panelLines(panel, rows, width, height, ui));
  }
  return { lines, ...noDetail(room), page: Math.max(1, heights[ui.panel] - 1) };
}

function panelLines(panel: PanelName, rows: PanelRows, width: number, height: number, ui: UiState): ScreenLine[] {
  const names = rows[panel].map((r) => NAME_OF[panel](r as never));
  const focused = ui.panel === panel;
  const title = TITLES[panel];
  if (rows[panel].length === 0) {
    const none = ui.filter ? `none matching "${ui.filter}"` : EMPTY[panel];
    const heading: Segment = { text: title, bold: true, ...(focused ? { inverse: true, color: 'cyan' } : {}) };
    return [[heading, { text: `  ${none}`, dim: true }]];
  }
  const common = { width, height, title, focused, selected: selectedIndex(ui, panel, names) };
  switch (panel) {
    case 'services':
      return tableLines({ ...common, columns: SERVICE_COLUMNS, rows: rows.services });
    case 'topics':
      return tableLines({ ...common, columns: topicColumns(width, rows.topics), rows: rows.topics });
    case 'groups':
      return tableLines({ ...common, columns: GROUP_COLUMNS, rows: rows.groups });
    case 'pipelines':
      return tableLines({ ...common, columns: PIPELINE_COLUMNS, rows: rows.pipelines });
    case 'replays':
      return tableLines({ ...common, columns: REPLAY_COLUMNS, rows: rows.replays });
  }
}

const EMPTY: Record<PanelName, string> = {
  services: 'none: an external cluster, or nothing started (pbx up)',
  topics: 'none yet',
  groups: 'none: no consumer group has committed offsets',
  pipelines: 'none running (pbx run publishes their figures)',
  replays: 'none running',
};

/** Who gets room first after the focused panel: the data flow, then the services (all well, mostly). */
const SHARE_ORDER: PanelName[] = ['topics', 'groups', 'pipelines', 'replays', 'services'];

/**
 * Each panel's lines: first its header (one line when empty), then a row each, then more rows in turn, the focused
 * panel first; a panel that gets nothing is left out (a tiny terminal).
 */
export function shareHeight(rows: PanelRows, focused: PanelName, room: number): Record<PanelName, number> {
  const order = [focused, ...SHARE_ORDER.filter((p) => p !== focused)];
  const heights = Object.fromEntries(PANELS.map((p) => [p, 0])) as Record<PanelName, number>;
  const want = (p: PanelName) => (rows[p].length === 0 ? 1 : rows[p].length + 1);
  let left = room;
  for (const panel of order) {
    const first = Math.min(want(panel), 2);
    if (left < first) continue;
    heights[panel] = first;
    left -= first;
  }
  while (left > 0) {
    const growing = order.filter((p) => heights[p] > 0 && heights[p] < want(p));
    if (growing.length === 0) break;
    for (const panel of growing) {
      if (left === 0) break;
      heights[panel]++;
      left--;
    }
  }
  return heights;
}

function headerLine({ snapshot, ui }: ScreenInput): ScreenLine {
  const line: ScreenLine = [{ text: 'pbx top', bold: true }];
  if (snapshot) {
    line.push({ text: ` · ${snapshot.target} · ` });
    const brokers = `${snapshot.kafka.brokers} broker${snapshot.kafka.brokers === 1 ? '' : 's'}`;
    line.push(snapshot.kafka.up ? { text: `Kafka ${brokers}`, color: 'green' } : { text: 'Kafka down', color: 'red' });
    line.push({ text: ` · ${clock(snapshot.time)} · ${Math.round(snapshot.collectMs)} ms`, dim: true });
  }
  if (ui.paused) line.push({ text: ' ' }, { text: ' PAUSED ', inverse: true, color: 'yellow' });
  return line;
}

function bannerLines({ snapshot, failure, now }: ScreenInput): ScreenLine[] {
  const banners: ScreenLine[] = [];
  const kept = snapshot && (snapshot.topics.length > 0 || snapshot.groups.length > 0) ? ', rows as last seen' : '';
  if (snapshot && !snapshot.kafka.up) {
    const since = snapshot.kafka.since ?? snapshot.time;
    const why = snapshot.kafka.error ? `: ${snapshot.kafka.error}` : '';
    const text = ` Kafka down since ${clock(since)} (${shortDuration(now - since)})${kept}${why} `;
    banners.push([{ text, inverse: true, color: 'red', bold: true }]);
  }
  if (failure) {
    const text = ` refresh failing since ${clock(failure.since)}${kept}: ${failure.message} `;
    banners.push([{ text, inverse: true, color: 'red' }]);
  }
  return banners;
}

/** The keys, always on the last line; while typing a filter, what is typed. */
function helpLine(ui: UiState, width: number): ScreenLine {
  if (ui.editingFilter) {
    return [
      { text: `/${ui.filter}`, bold: true },
      { text: '▏', inverse: true },
      { text: '  Enter keep · Esc clear', dim: true },
    ];
  }
  const keys: Array<[string, string]> = ui.detail
    ? [
        ['↑↓', 'scroll'],
        ['Esc', 'back'],
        ['p', ui.paused ? 'resume' : 'pause'],
        ['q', 'quit'],
        ['?', 'help'],
      ]
    : [
        ['Tab', 'panel'],
        ['↑↓', 'row'],
        ['Enter', 'open'],
        ['Esc', 'back'],
        ['/', 'filter'],
        ['p', ui.paused ? 'resume' : 'pause'],
        ['q', 'quit'],
        ['?', 'help'],
      ];
  const line: ScreenLine = ui.filter ? [{ text: `filter "${ui.filter}"`, color: 'cyan' }, { text: '  ' }] : [];
  keys.forEach(([key, what], i) =>
    line.push({ text: `${i > 0 ? '  ' : ''}${key}`, bold: true }, { text: ` ${what}`, dim: true }),
  );
  return clipLine(line, width);
}

const HELP: Segment[] = [
  { text: 'pbx top: services, topics, consumer groups, pipelines and replays, every second', bold: true },
  { text: '' },
  { text: 'Tab, Shift-Tab, ←→   the next or previous panel' },
  { text: '↑↓, j k, PgUp PgDn   the row in the panel; in details, scroll' },
  { text: 'Enter                open a topic, group or pipeline: partitions and details' },
  { text: 'Esc                  back from details or help; clears the filter' },
  { text: '/                    filter rows by name (Enter keeps it, Esc clears it)' },
  { text: 'p                    pause: the screen holds still until p again' },
  { text: 'q, Ctrl-C            quit' },
  { text: '' },
  { text: 'Group status', bold: true },
  { text: '  ok: keeping up · behind: lag growing · stalled: members, no progress' },
  { text: '  stopped: no members, lag kept · empty: nothing committed to read' },
  { text: 'LAG TIME  the age of the oldest record not yet read' },
  { text: 'ETA       to catch up at the present rates, by the slowest partition' },
  { text: 'E2E       Kafka timestamp to the sink’s acknowledgement, last second' },
];

/** HH:MM:SS in the terminal's time zone. */
function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}
