/**
 * The "Agent runs" list: the REST answer's types, the query for the filters, and the list as
 * DOM. Plain functions; `sidebar.ts` fetches and wires them.
 */

import {
  clip,
  formatAgo,
  formatCost,
  formatCount,
  formatDuration,
  formatTimestamp
} from './format';
import { statusBadge } from './model';
import { badgeElement } from './render';

/** One run as `GET /agentnb/api/runs` lists it. */
export interface RunSummary {
  run_id: string;
  store: string;
  agent: string;
  version: string;
  model: string;
  status: string;
  error_type: string | null;
  error: string | null;
  /** Unix seconds. */
  started_at: number;
  /** Seconds. */
  duration: number;
  steps: number;
  tool_calls: number;
  tool_errors: number;
  input_tokens: number;
  output_tokens: number;
  cost: number | null;
  guard_verdicts: number;
  guard_blocks: number;
  prompt: string | null;
}

/** A telemetry store the server read (`exists` is false before any run was recorded). */
export interface StoreInfo {
  uri: string;
  label: string;
  exists: boolean;
}

/** The answer of `GET /agentnb/api/runs`. */
export interface RunsResponse {
  stores: StoreInfo[];
  runs: RunSummary[];
  facets: { agent: string[]; version: string[]; status: string[] };
}

/** The sidebar's filters: empty means any. */
export interface RunFilters {
  agent: string;
  version: string;
  status: string;
}

/** Any agent, any version, any status. */
export const NO_FILTERS: RunFilters = { agent: '', version: '', status: '' };

/** The fields the sidebar filters on, in the order it shows them. */
export const FILTER_FIELDS: readonly (keyof RunFilters)[] = ['agent', 'version', 'status'];

/** The query string for `GET /agentnb/api/runs` (`limit` runs matching `filters`). */
export function runsQuery(filters: RunFilters, limit = 100): string {
  const params = new URLSearchParams();
  for (const field of FILTER_FIELDS) {
    if (filters[field]) {
      params.set(field, filters[field]);
    }
  }
  params.set('limit', String(limit));
  return params.toString();
}

/** Whether two answers show the same list (to skip redrawing when a poll found nothing new). */
export function sameRuns(a: RunsResponse | null, b: RunsResponse | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The line under a run's name: duration, tool calls, tokens, cost. */
export function runFacts(run: RunSummary): string[] {
  return [
    formatDuration(run.duration),
    `${run.tool_calls} ${run.tool_calls === 1 ? 'tool call' : 'tool calls'}`,
    `${formatCount(run.input_tokens + run.output_tokens)} tok`,
    formatCost(run.cost)
  ];
}

function el(doc: Document, tag: string, cls: string, text?: string): HTMLElement {
  const node = doc.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** One run as a list item (`li.anl-run[data-run-id]`, a button inside). */
export function runItem(doc: Document, run: RunSummary, now: number, active = false): HTMLElement {
  const item = el(doc, 'li', `anl-run${active ? ' anl-active' : ''}`);
  item.dataset.runId = run.run_id;
  item.dataset.status = run.status;
  const button = el(doc, 'button', 'anl-run-button') as HTMLButtonElement;
  button.type = 'button';
  button.dataset.action = 'open-run';
  button.title = [
    `${run.agent} ${run.version} · ${run.model}`,
    `run ${run.run_id}`,
    `started ${formatTimestamp(run.started_at)}`,
    run.prompt ? `prompt: ${clip(run.prompt, 200)}` : '',
    run.error ? `error: ${clip(run.error, 200)}` : '',
    'Click to open its trace'
  ]
    .filter(Boolean)
    .join('\n');

  const top = el(doc, 'div', 'anl-run-top');
  const status = badgeElement(doc, statusBadge(run.status));
  top.append(
    status,
    el(doc, 'span', 'anl-run-agent', run.agent),
    el(doc, 'span', 'anl-chip', `v${run.version}`)
  );
  if (run.guard_blocks > 0) {
    top.append(
      badgeElement(doc, {
        text: `⊘ ${run.guard_blocks}`,
        tone: 'blocked',
        title: `${run.guard_blocks} guard ${run.guard_blocks === 1 ? 'block' : 'blocks'}`,
        role: 'blocks'
      })
    );
  }
  top.append(el(doc, 'span', 'anl-run-when', formatAgo(run.started_at, now)));

  const facts = el(doc, 'div', 'anl-run-facts');
  for (const fact of runFacts(run)) {
    facts.append(el(doc, 'span', '', fact));
  }
  button.append(top, facts);
  if (run.prompt) {
    button.append(el(doc, 'div', 'anl-run-prompt', clip(run.prompt, 120)));
  }
  item.append(button);
  return item;
}

/** The filter selects: "any" plus each value the stores hold (and the current one). */
export function filterControls(
  doc: Document,
  response: RunsResponse | null,
  filters: RunFilters
): HTMLElement {
  const bar = el(doc, 'div', 'anl-run-filters');
  for (const field of FILTER_FIELDS) {
    const label = el(doc, 'label', 'anl-run-filter');
    label.append(el(doc, 'span', '', field));
    const select = doc.createElement('select');
    select.dataset.filter = field;
    select.setAttribute('aria-label', `Filter runs by ${field}`);
    const values = new Set(response?.facets[field] ?? []);
    if (filters[field]) {
      values.add(filters[field]);
    }
    const options = ['', ...Array.from(values).sort()];
    for (const value of options) {
      const option = doc.createElement('option');
      option.value = value;
      option.textContent = value || 'any';
      select.append(option);
    }
    select.value = filters[field];
    label.append(select);
    bar.append(label);
  }
  return bar;
}

/** The panel's footer: how many runs are listed, and from which stores. */
export function storesLine(response: RunsResponse): string {
  const stores = response.stores.filter(s => s.exists).map(s => s.label);
  const n = response.runs.length;
  const runs = `${n} ${n === 1 ? 'run' : 'runs'}`;
  return stores.length ? `${runs} · ${stores.join(', ')}` : runs;
}

/** What the list says when there is nothing to list. */
export function emptyMessage(response: RunsResponse, filters: RunFilters): string {
  if (FILTER_FIELDS.some(f => filters[f])) {
    return 'No runs match these filters.';
  }
  const stores = response.stores.filter(s => s.exists);
  if (!stores.length) {
    return (
      'No runs recorded yet. Run an agent in a notebook: runs are stored in .agentnb/ beside ' +
      'the notebook, or in $AGENTNB_HOME when it is set.'
    );
  }
  return `No runs in ${stores.map(s => s.label).join(', ')} yet.`;
}

/** The list of runs (or the empty message). */
export function runsList(
  doc: Document,
  response: RunsResponse,
  filters: RunFilters,
  activeRun: string | null,
  now: number
): HTMLElement {
  if (!response.runs.length) {
    return el(doc, 'div', 'anl-runs-empty', emptyMessage(response, filters));
  }
  const list = el(doc, 'ul', 'anl-runs-list');
  list.setAttribute('aria-label', 'Recent agent runs');
  for (const run of response.runs) {
    list.append(runItem(doc, run, now, run.run_id === activeRun));
  }
  return list;
}
