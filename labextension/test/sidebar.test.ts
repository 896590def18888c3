import { Widget } from '@lumino/widgets';
import { afterEach, describe, expect, it } from 'vitest';

import { RunSummary, RunsResponse } from '../src/runs';
import { RunsPanel } from '../src/sidebar';
import { TRACE_SHOWN_EVENT, TraceWidget } from '../src/widget';
import { MIME_TYPE } from '../src/payload';
import fixture from './fixtures/blocked-run.json';

const RUN = {
  run_id: fixture.run_id,
  store: '.agentnb/telemetry',
  agent: 'fx',
  version: '0.2.0',
  model: 'offline',
  status: 'ok',
  error_type: null,
  error: null,
  started_at: fixture.started_at,
  duration: 0.00044,
  steps: 2,
  tool_calls: 1,
  tool_errors: 0,
  input_tokens: 96,
  output_tokens: 35,
  cost: 0,
  guard_verdicts: 1,
  guard_blocks: 1,
  prompt: 'How much is 5000 dollars in EUR?'
} satisfies RunSummary;

const RESPONSE: RunsResponse = {
  stores: [{ uri: '/p/.agentnb/telemetry', label: '.agentnb/telemetry', exists: true }],
  runs: [RUN],
  facets: { agent: ['fx'], version: ['0.1.0', '0.2.0'], status: ['ok'] }
};

const attached: Widget[] = [];
afterEach(() => attached.splice(0).forEach(w => w.dispose()));

describe('RunsPanel', () => {
  it('lists runs, opens one on click and reloads when a filter changes', async () => {
    const queries: string[] = [];
    const opened: string[] = [];
    const panel = new RunsPanel({
      openRun: run => opened.push(run.run_id),
      load: query => {
        queries.push(query);
        return Promise.resolve(RESPONSE);
      }
    });
    Widget.attach(panel, document.body);
    attached.push(panel);
    await panel.refresh();

    expect(panel.node.querySelectorAll('li.anl-run')).toHaveLength(1);
    expect(panel.node.querySelector('.anl-runs-status')?.textContent).toBe(
      '1 run · .agentnb/telemetry'
    );
    panel.node.querySelector<HTMLElement>('.anl-run-button')?.click();
    expect(opened).toEqual([fixture.run_id]);
    expect(panel.node.querySelector('li.anl-run')?.classList.contains('anl-active')).toBe(true);

    const version = panel.node.querySelector<HTMLSelectElement>('select[data-filter="version"]')!;
    version.value = '0.2.0';
    version.dispatchEvent(new Event('change', { bubbles: true }));
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(queries).toEqual(['limit=100', 'version=0.2.0&limit=100']);
  });

  it('shows the server’s message when loading fails', async () => {
    const panel = new RunsPanel({
      openRun: () => undefined,
      load: () => Promise.reject(new Error('no run store: check AGENTNB_HOME'))
    });
    attached.push(panel);
    await panel.refresh();
    const status = panel.node.querySelector('.anl-runs-status');
    expect(status?.textContent).toBe('no run store: check AGENTNB_HOME');
    expect(status?.classList.contains('anl-error')).toBe(true);
  });
});

describe('TraceWidget', () => {
  it('renders the MIME data and announces the run', async () => {
    const shown: string[] = [];
    const listener = (e: Event): void => void shown.push((e as CustomEvent<string>).detail);
    window.addEventListener(TRACE_SHOWN_EVENT, listener);
    const widget = new TraceWidget();
    Widget.attach(widget, document.body);
    attached.push(widget);
    await widget.renderModel({ data: { [MIME_TYPE]: fixture } } as never);
    window.removeEventListener(TRACE_SHOWN_EVENT, listener);

    expect(shown).toEqual([fixture.run_id]);
    expect(widget.node.querySelectorAll('.anl-row[data-span-id]')).toHaveLength(5);
    widget.node.querySelector<HTMLElement>('.anl-row[data-kind="execute_tool"]')?.click();
    expect(widget.node.querySelector('[data-role="arguments"] pre')?.textContent).toContain(
      '"amount": 5000'
    );
    const row = widget.node.querySelector<HTMLElement>('.anl-row[data-kind="execute_tool"]')!;
    row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    expect(widget.node.querySelector('[data-role="arguments"]')).toBeNull();
    const key = (id: string, name: string): void =>
      void widget.node
        .querySelector(`.anl-row[data-span-id="${id}"]`)
        ?.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true }));
    key('tool-1.1', 'ArrowLeft');
    expect(widget.node.querySelectorAll('.anl-row[data-span-id]')).toHaveLength(4);
    key('tool-1.1', 'ArrowRight');
    expect(widget.node.querySelectorAll('.anl-row[data-span-id]')).toHaveLength(5);
    expect(document.activeElement?.getAttribute('data-span-id')).toBe('tool-1.1');
  });

  it('explains a payload it cannot draw', async () => {
    const widget = new TraceWidget();
    attached.push(widget);
    await widget.renderModel({ data: { [MIME_TYPE]: { version: 7, spans: [] } } } as never);
    expect(widget.trace).toBeNull();
    expect(widget.node.textContent).toContain('This trace has payload version 7');
  });
});
