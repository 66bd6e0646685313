// What the keys of `pbx top` do, as a pure state machine: (state, key, what is on screen) → state. The Ink view feeds
// it Ink's key events and draws what layout.ts makes of the state; the unit tests feed it keys and read the state.

/** The dashboard's panels, in the order Tab visits them. */
export const PANELS = ['services', 'topics', 'groups', 'pipelines', 'replays'] as const;
export type PanelName = (typeof PANELS)[number];

/** The panels whose rows open on Enter: their partitions and details. */
export type DetailPanel = 'topics' | 'groups' | 'pipelines';
const OPENS: readonly PanelName[] = ['topics', 'groups', 'pipelines'];

export interface UiState {
  /** The panel the arrows move in. */
  panel: PanelName;
  /** The selected row of each panel, by name: rows that move at a refresh keep it; the first row when unset. */
  selected: Partial<Record<PanelName, string>>;
  /** A topic, group or pipeline opened with Enter, and how far its details are scrolled. */
  detail?: { panel: DetailPanel; name: string; scroll: number };
  /** Rows are kept whose name holds this, in any case. */
  filter: string;
  /** `/` was pressed: keys type into the filter until Enter or Esc. */
  editingFilter: boolean;
  /** The screen holds still: no refresh until `p` again. */
  paused: boolean;
  help: boolean;
  quit: boolean;
}

/** A key as Ink reports it (the fields used here): the text typed, and which special key it was. */
export interface Key {
  input: string;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** What the screen shows when the key comes: each panel's row names, as filtered, and how many detail lines. */
export interface OnScreen {
  names: Record<PanelName, string[]>;
  /** Lines of the open detail below its heading, and how many fit: scrolling stops at the last screenful. */
  detailLines: number;
  detailRoom: number;
  /** Rows a page key moves. */
  page: number;
}

export function initialUiState(): UiState {
  return {
    panel: 'topics',
    selected: {},
    filter: '',
    editingFilter: false,
    paused: false,
    help: false,
    quit: false,
  };
}

/** The state after one key. */
export function applyKey(state: UiState, key: Key, screen: OnScreen): UiState {
  if (key.ctrl && key.input === 'c') return { ...state, quit: true };
  // Text pasted, or typed faster than it is read, comes as one input: each character is a key.
  const characters = Array.from(key.input);
  if (characters.length > 1 && !key.ctrl) return characters.reduce((s, c) => applyKey(s, { input: c }, screen), state);
  if (state.editingFilter) return filterKey(state, key);
  if (key.input === 'q') return { ...state, quit: true };
  if (key.input === 'p') return { ...state, paused: !state.paused };
  if (key.input === '?') return { ...state, help: !state.help };
  if (state.help) return key.escape ? { ...state, help: false } : state;
  if (state.detail) return detailKey(state, key, screen);
  if (key.input === '/') return { ...state, editingFilter: true };
  if (key.escape) return state.filter ? { ...state, filter: '' } : state;
  if (key.tab || key.rightArrow) return { ...state, panel: nextPanel(state.panel, key.shift ? -1 : 1) };
  if (key.leftArrow) return { ...state, panel: nextPanel(state.panel, -1) };
  const step = rowStep(key, screen.page);
  if (step !== 0) return moveRow(state, step, screen.names[state.panel]);
  if (key.return) return open(state, screen);
  return state;
}

function filterKey(state: UiState, key: Key): UiState {
  if (key.return) return { ...state, editingFilter: false };
  if (key.escape) return { ...state, editingFilter: false, filter: '' };
  if (key.backspace || key.delete) return { ...state, filter: state.filter.slice(0, -1) };
  // Printable text only: arrows and the like arrive with an empty input.
  if (key.input !== '' && !key.ctrl && [...key.input].every((c) => c >= ' ' && c !== '\u007F')) {
    return { ...state, filter: state.filter + key.input, selected: {} };
  }
  return state;
}

function detailKey(state: UiState, key: Key, screen: OnScreen): UiState {
  const detail = state.detail!;
  if (key.escape || key.leftArrow || key.backspace) return { ...state, detail: undefined };
  const step = rowStep(key, screen.page);
  if (step === 0) return state;
  const last = Math.max(0, screen.detailLines - screen.detailRoom);
  return { ...state, detail: { ...detail, scroll: clamp(detail.scroll + step, 0, last) } };
}

function rowStep(key: Key, page: number): number {
  if (key.upArrow || key.input === 'k') return -1;
  if (key.downArrow || key.input === 'j') return 1;
  if (key.pageUp) return -Math.max(1, page);
  if (key.pageDown) return Math.max(1, page);
  return 0;
}

function moveRow(state: UiState, step: number, names: string[]): UiState {
  const row = clamp(selectedIndex(state, state.panel, names) + step, 0, names.length - 1);
  return { ...state, selected: { ...state.selected, [state.panel]: names[row] } };
}

/** Where the panel's selected row is among its rows now: the first row when it is unset or gone. */
export function selectedIndex(state: UiState, panel: PanelName, names: string[]): number {
  const name = state.selected[panel];
  return name === undefined ? 0 : Math.max(0, names.indexOf(name));
}

function open(state: UiState, screen: OnScreen): UiState {
  if (!OPENS.includes(state.panel)) return state;
  const names = screen.names[state.panel];
  const name = names[selectedIndex(state, state.panel, names)];
  if (name === undefined) return state;
  return { ...state, detail: { panel: state.panel as DetailPanel, name, scroll: 0 } };
}

function nextPanel(panel: PanelName, by: number): PanelName {
  const i = PANELS.indexOf(panel);
  return PANELS[(i + by + PANELS.length) % PANELS.length]!;
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high));
}
