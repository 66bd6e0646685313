// pbx top's keys as a state machine: state, key and what is on screen in, state out.
import { describe, expect, it } from 'vitest';
import { applyKey, initialUiState, type Key, type OnScreen, type UiState } from '../../src/top/keys';

const screen: OnScreen = {
  names: {
    services: ['kafka', 'zookeeper'],
    topics: ['reviews', 'orders', 'events'],
    groups: ['reviews-reader'],
    pipelines: [],
    replays: ['reviews'],
  },
  detailLines: 30,
  detailRoom: 10,
  page: 5,
};

/** Presses the keys one after another from `state`. */
function press(keys: Array<Key | string>, state: UiState = initialUiState()): UiState {
  return keys.reduce<UiState>((s, k) => applyKey(s, typeof k === 'string' ? { input: k } : k, screen), state);
}
const TAB = { input: '', tab: true };
const SHIFT_TAB = { input: '', tab: true, shift: true };
const DOWN = { input: '', downArrow: true };
const UP = { input: '', upArrow: true };
const ENTER = { input: '', return: true };
const ESC = { input: '', escape: true };
const BACKSPACE = { input: '', backspace: true };

describe('moving between panels and rows', () => {
  it('starts on the topics; Tab, → and Shift-Tab, ← move between panels, round', () => {
    expect(initialUiState().panel).toBe('topics');
    expect(press([TAB]).panel).toBe('groups');
    expect(press([TAB, TAB, TAB, TAB]).panel).toBe('services');
    expect(press([SHIFT_TAB]).panel).toBe('services');
    expect(press([{ input: '', rightArrow: true }]).panel).toBe('groups');
    expect(
      press([
        { input: '', leftArrow: true },
        { input: '', leftArrow: true },
      ]).panel,
    ).toBe('replays');
  });

  it('↓ and ↑ (or j and k) select rows by name, within the panel’s rows', () => {
    expect(press([DOWN]).selected.topics).toBe('orders');
    expect(press([DOWN, DOWN, DOWN, DOWN]).selected.topics).toBe('events');
    expect(press(['j', 'j', 'k']).selected.topics).toBe('orders');
    expect(press([UP]).selected.topics).toBe('reviews');
    expect(press([{ input: '', pageDown: true }]).selected.topics).toBe('events');
  });

  it('a selected row that moved is found by its name', () => {
    const state = press([DOWN]);
    const moved = { ...screen, names: { ...screen.names, topics: ['orders', 'reviews', 'events'] } };
    expect(applyKey(state, DOWN, moved).selected.topics).toBe('reviews');
  });

  it('does nothing in an empty panel', () => {
    const state = press([TAB, TAB]);
    expect(state.panel).toBe('pipelines');
    expect(press([DOWN, ENTER], state)).toEqual({ ...state, selected: { pipelines: undefined } });
  });
});

describe('details', () => {
  it('Enter opens the selected topic, group or pipeline; Esc goes back to the panel as it was', () => {
    const open = press([DOWN, ENTER]);
    expect(open.detail).toEqual({ panel: 'topics', name: 'orders', scroll: 0 });
    const back = press([ESC], open);
    expect(back.detail).toBeUndefined();
    expect(back.selected.topics).toBe('orders');
    expect(press([TAB, ENTER]).detail).toEqual({ panel: 'groups', name: 'reviews-reader', scroll: 0 });
  });

  it('Enter on a service or a replay opens nothing', () => {
    expect(press([SHIFT_TAB, ENTER]).detail).toBeUndefined();
    expect(press([SHIFT_TAB, SHIFT_TAB, ENTER]).detail).toBeUndefined();
  });

  it('↑↓ scroll the details, no further than the last screenful; Tab does nothing there', () => {
    const open = press([ENTER]);
    expect(press([DOWN, DOWN], open).detail?.scroll).toBe(2);
    expect(press(Array<Key>(5).fill({ input: '', pageDown: true }), open).detail?.scroll).toBe(20);
    expect(press([UP], open).detail?.scroll).toBe(0);
    expect(press([TAB], open)).toEqual(open);
  });
});

describe('the filter', () => {
  it('/ starts it, keys type into it (q too), Backspace takes back, Enter keeps it', () => {
    const typing = press(['/', 'r', 'e', 'q', BACKSPACE]);
    expect(typing).toMatchObject({ editingFilter: true, filter: 're', quit: false });
    const kept = press([ENTER], typing);
    expect(kept).toMatchObject({ editingFilter: false, filter: 're' });
    expect(press([ESC], kept).filter).toBe('');
  });

  it('text that comes as one input (pasted, typed fast) is each of its keys', () => {
    expect(press(['/rev'])).toMatchObject({ editingFilter: true, filter: 'rev' });
    expect(press(['/😀q'])).toMatchObject({ filter: '😀q', quit: false });
    expect(press(['jjq'])).toMatchObject({ selected: { topics: 'events' }, quit: true });
  });

  it('Esc while typing clears it; control keys are not typed', () => {
    expect(press(['/', 'x', ESC])).toMatchObject({ editingFilter: false, filter: '' });
    expect(press(['/', DOWN, '\u0007']).filter).toBe('');
  });

  it('typing starts each panel’s selection again from its first row', () => {
    expect(press([DOWN, '/', 'o']).selected).toEqual({});
  });
});

describe('pause, help and quit', () => {
  it('p pauses and resumes, in details too', () => {
    expect(press(['p']).paused).toBe(true);
    expect(press(['p', 'p']).paused).toBe(false);
    expect(press([ENTER, 'p']).paused).toBe(true);
  });

  it('? shows and hides the help, Esc hides it; other keys wait', () => {
    expect(press(['?']).help).toBe(true);
    expect(press(['?', '?']).help).toBe(false);
    expect(press(['?', ESC]).help).toBe(false);
    expect(press(['?', TAB]).panel).toBe('topics');
  });

  it('q quits, and Ctrl-C quits whatever is going on', () => {
    expect(press(['q']).quit).toBe(true);
    expect(press([ENTER, 'q']).quit).toBe(true);
    expect(press(['/', { input: 'c', ctrl: true }]).quit).toBe(true);
    expect(press(['?', { input: 'c', ctrl: true }]).quit).toBe(true);
  });
});
