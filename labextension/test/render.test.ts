import { describe, expect, it } from 'vitest';

import { readPayload } from '../src/payload';
import {
  Action,
  INITIAL_STATE,
  ViewState,
  actionOf,
  reduce,
  renderError,
  renderTrace
} from '../src/render';
import fixture from './fixtures/blocked-run.json';
import guardErrorFixture from './fixtures/guard-error-run.json';

const payload = readPayload(fixture);

function draw(state: ViewState = INITIAL_STATE): HTMLElement {
  const root = renderTrace(document, payload, state);
  document.body.replaceChildren(root);
  return root;
}

function rows(root: HTMLElement): string[] {
  return Array.from(root.querySelectorAll<HTMLElement>('.anl-row[data-span-id]')).map(
    r =>
      `${'  '.repeat(Number(r.getAttribute('aria-level')) - 1)}${r.dataset.kind}:${r.dataset.status}`
  );
}

function click(root: HTMLElement, selector: string, state: ViewState): ViewState {
  const action = actionOf(root.querySelector(selector), root);
  expect(action).not.toBeNull();
  return reduce(state, action as Action, payload);
}

describe('renderTrace', () => {
  it('draws the header, the blocked alert and a row per span', () => {
    const root = draw();
    expect(root.dataset).toMatchObject({ runId: payload.run_id, status: 'ok', spanCount: '5' });
    expect(root.querySelector('.anl-title')?.textContent).toBe('✓ okfxv0.2.0offline');
    expect(root.querySelector('.anl-alert')?.textContent).toBe(
      '⊘at_most_1000 blocked tool call convert: 5000 dollars is over the 1,000 limit'
    );
    expect(root.querySelector('[data-role="verdict-count"]')?.textContent).toBe('1 blocked');
    expect(rows(root)).toEqual([
      'invoke_agent:ok',
      '  chat:ok',
      '  execute_tool:blocked',
      '    guard:blocked',
      '  chat:ok'
    ]);
    const verdict = root.querySelector('.anl-row[data-kind="guard"] [data-role="verdict"]');
    expect(verdict?.textContent).toBe('⊘ block');
    expect(verdict?.className).toBe('anl-badge anl-tone-blocked');
    expect(root.querySelectorAll('.anl-details')).toHaveLength(0);
  });

  it('draws timing bars where the spans ran', () => {
    const bar = draw().querySelector<HTMLElement>('.anl-row[data-kind="execute_tool"] .anl-bar');
    expect(bar?.getAttribute('style')).toBe('left: 56.818%; width: 22.727%');
    expect(bar?.title).toBe('starts at 0.25 ms, takes 0.10 ms');
  });

  it('opens a span’s details on click, and closes them again', () => {
    let state = INITIAL_STATE;
    state = click(draw(state), '.anl-row[data-kind="execute_tool"]', state);
    const root = draw(state);
    const details = root.querySelector<HTMLElement>('.anl-details');
    expect(details?.dataset.detailsFor).toBe('tool-1.1');
    expect(details?.querySelector('[data-role="arguments"] pre')?.textContent).toBe(
      '{\n  "amount": 5000,\n  "currency": "EUR"\n}'
    );
    expect(root.querySelector('.anl-row.anl-open')?.getAttribute('aria-expanded')).toBe('true');
    // a click inside the name cell toggles the same row
    state = click(root, '.anl-row[data-kind="execute_tool"] .anl-name', state);
    expect(draw(state).querySelectorAll('.anl-details')).toHaveLength(0);
  });

  it('collapses and expands subtrees', () => {
    let state = click(draw(), '.anl-row[data-kind="execute_tool"] .anl-caret', INITIAL_STATE);
    expect(rows(draw(state))).toHaveLength(4);
    state = click(draw(state), '[data-action="collapse-all"]', state);
    expect(rows(draw(state))).toEqual(['invoke_agent:ok']);
    expect(draw(state).querySelector('.anl-caret')?.textContent).toBe('▸');
    state = click(draw(state), '[data-action="expand-all"]', state);
    expect(rows(draw(state))).toHaveLength(5);
  });

  it('filters to blocked spans and back', () => {
    let state = click(draw(), '[data-filter="blocked"]', INITIAL_STATE);
    const root = draw(state);
    expect(rows(root)).toEqual(['invoke_agent:ok', '  execute_tool:blocked', '    guard:blocked']);
    expect(
      root.querySelector('.anl-row[data-kind="invoke_agent"]')?.classList.contains('anl-context')
    ).toBe(true);
    expect(root.querySelector('[data-filter="blocked"]')?.getAttribute('aria-pressed')).toBe(
      'true'
    );
    expect(root.querySelector('[data-filter="failed"]')?.hasAttribute('disabled')).toBe(true);
    state = click(root, '[data-filter="all"]', state);
    expect(rows(draw(state))).toHaveLength(5);
  });

  it('says so when a filter keeps nothing', () => {
    const root = draw({ ...INITIAL_STATE, filter: 'failed' });
    expect(root.querySelector('.anl-empty')?.textContent).toBe('No failed spans in this run.');
  });

  it('puts text from the run in as text, never as HTML', () => {
    const evil = readPayload({ ...fixture, prompt: '<img src=x onerror="window.pwned=1">' });
    const root = renderTrace(document, evil, INITIAL_STATE);
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('[data-role="prompt"] .anl-line-text')?.textContent).toBe(
      '<img src=x onerror="window.pwned=1">'
    );
  });

  it('ignores clicks outside any action', () => {
    const root = draw();
    expect(actionOf(root.querySelector('.anl-footer'), root)).toBeNull();
    expect(actionOf(null, root)).toBeNull();
  });

  it('draws an error in place of a trace', () => {
    expect(renderError(document, 'The trace payload has no version.').textContent).toBe(
      '✕ cannot show this traceThe trace payload has no version.'
    );
  });

  it('shows a red header badge for each guard that raised', () => {
    const failing = readPayload(guardErrorFixture);
    const root = renderTrace(document, failing, INITIAL_STATE);
    const badges = Array.from(root.querySelectorAll<HTMLElement>('.anl-title .anl-badge'));
    expect(badges.map(b => [b.textContent, b.className, b.dataset.role])).toEqual([
      ['✓ ok', 'anl-badge anl-tone-ok', 'status'],
      ['✕ guard error: buggy_limit', 'anl-badge anl-tone-error', 'guard-error']
    ]);
    expect(badges[1].title).toBe(
      'guard buggy_limit raised an exception: the action it checked was stopped'
    );
    expect(draw().querySelector('[data-role="guard-error"]')).toBeNull();
  });
});
