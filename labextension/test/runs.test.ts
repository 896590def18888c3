import { describe, expect, it } from 'vitest';

import {
  NO_FILTERS,
  RunSummary,
  RunsResponse,
  emptyMessage,
  filterControls,
  runFacts,
  runItem,
  runsList,
  runsQuery,
  sameRuns,
  storesLine
} from '../src/runs';

const NOW = 1_795_628_700 * 1000;

function run(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    run_id: '4a0ad488e62579d2cd94eb77a222f882',
    store: '.agentnb/telemetry',
    agent: 'fx',
    version: '0.2.0',
    model: 'offline',
    status: 'ok',
    error_type: null,
    error: null,
    started_at: 1_795_628_646.5,
    duration: 0.00044,
    steps: 2,
    tool_calls: 1,
    tool_errors: 0,
    input_tokens: 96,
    output_tokens: 35,
    cost: 0,
    guard_verdicts: 1,
    guard_blocks: 1,
    prompt: 'How much is 5000 dollars in EUR?',
    ...overrides
  };
}

const RESPONSE: RunsResponse = {
  stores: [{ uri: '/p/.agentnb/telemetry', label: '.agentnb/telemetry', exists: true }],
  runs: [
    run(),
    run({ run_id: 'b'.repeat(32), version: '0.1.0', guard_blocks: 0, status: 'error' })
  ],
  facets: { agent: ['fx'], version: ['0.1.0', '0.2.0'], status: ['error', 'ok'] }
};

describe('the runs list', () => {
  it('asks for the filtered runs', () => {
    expect(runsQuery(NO_FILTERS)).toBe('limit=100');
    expect(runsQuery({ agent: 'fx', version: '', status: 'blocked' }, 20)).toBe(
      'agent=fx&status=blocked&limit=20'
    );
  });

  it('draws a run as a button with its status, version, blocks and facts', () => {
    const item = runItem(document, run(), NOW, true);
    expect(item.dataset).toMatchObject({ runId: '4a0ad488e62579d2cd94eb77a222f882', status: 'ok' });
    expect(item.className).toBe('anl-run anl-active');
    expect(item.querySelector('.anl-run-top')?.textContent).toBe('✓ okfxv0.2.0⊘ 11 min ago');
    expect(
      Array.from(item.querySelectorAll('.anl-run-facts span')).map(s => s.textContent)
    ).toEqual(['0.44 ms', '1 tool call', '131 tok', '$0']);
    expect(item.querySelector('.anl-run-prompt')?.textContent).toBe(
      'How much is 5000 dollars in EUR?'
    );
    expect(item.querySelector('button')?.dataset.action).toBe('open-run');
    expect(item.querySelector('button')?.title).toContain('run 4a0ad488e62579d2cd94eb77a222f882');
  });

  it('lists the runs, or says why there are none', () => {
    const list = runsList(document, RESPONSE, NO_FILTERS, null, NOW);
    expect(Array.from(list.querySelectorAll('li')).map(li => li.dataset.status)).toEqual([
      'ok',
      'error'
    ]);
    const none = { ...RESPONSE, runs: [] };
    expect(runsList(document, none, NO_FILTERS, null, NOW).textContent).toBe(
      'No runs in .agentnb/telemetry yet.'
    );
    expect(emptyMessage(none, { ...NO_FILTERS, agent: 'fx' })).toBe('No runs match these filters.');
    expect(emptyMessage({ ...none, stores: [] }, NO_FILTERS)).toContain('No runs recorded yet.');
  });

  it('offers each stored value as a filter, keeping the current one', () => {
    const bar = filterControls(document, RESPONSE, { ...NO_FILTERS, version: '9.9.9' });
    const options = (field: string): string[] =>
      Array.from(bar.querySelectorAll(`select[data-filter="${field}"] option`)).map(
        o => o.textContent ?? ''
      );
    expect(options('agent')).toEqual(['any', 'fx']);
    expect(options('version')).toEqual(['any', '0.1.0', '0.2.0', '9.9.9']);
    expect(bar.querySelector<HTMLSelectElement>('select[data-filter="version"]')?.value).toBe(
      '9.9.9'
    );
  });

  it('sums up and compares answers', () => {
    expect(storesLine(RESPONSE)).toBe('2 runs · .agentnb/telemetry');
    expect(sameRuns(RESPONSE, JSON.parse(JSON.stringify(RESPONSE)))).toBe(true);
    expect(sameRuns(RESPONSE, { ...RESPONSE, runs: [] })).toBe(false);
    expect(runFacts(run({ cost: null, tool_calls: 2 }))).toEqual([
      '0.44 ms',
      '2 tool calls',
      '131 tok',
      '–'
    ]);
  });
});
