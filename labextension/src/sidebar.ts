/**
 * The "Agent runs" panel of the left sidebar: recent runs from the telemetry store, filters by
 * agent, version and status, refreshed while visible and whenever a new trace is shown.
 */

import { Widget } from '@lumino/widgets';

import { fetchRuns } from './api';
import {
  FILTER_FIELDS,
  NO_FILTERS,
  RunFilters,
  RunSummary,
  RunsResponse,
  filterControls,
  runsList,
  runsQuery,
  sameRuns,
  storesLine
} from './runs';
import { TRACE_SHOWN_EVENT } from './widget';

/** What the panel needs from the plugin (and from tests). */
export interface RunsPanelOptions {
  /** Open a run's trace (the plugin opens a main-area tab). */
  openRun: (run: RunSummary) => void;
  /** Seconds between refreshes while the panel is visible. */
  pollSeconds?: number;
  /** Loads the runs for a query string (the REST API by default; tests pass their own). */
  load?: (query: string) => Promise<RunsResponse>;
}

/** The left-sidebar panel listing recent runs; a click opens a run's trace. */
export class RunsPanel extends Widget {
  private filters: RunFilters = NO_FILTERS;
  private response: RunsResponse | null = null;
  private activeRun: string | null = null;
  private timer: number | undefined;
  private pending: number[] = [];
  private loading = false;
  private readonly openRun: (run: RunSummary) => void;
  private readonly pollSeconds: number;
  private readonly load: (query: string) => Promise<RunsResponse>;
  private readonly filtersHost: HTMLElement;
  private readonly listHost: HTMLElement;
  private readonly statusLine: HTMLElement;

  constructor(options: RunsPanelOptions) {
    super();
    this.openRun = options.openRun;
    this.pollSeconds = options.pollSeconds ?? 5;
    this.load = options.load ?? fetchRuns;
    this.addClass('anl-runs-panel');
    const doc = this.node.ownerDocument;

    const header = doc.createElement('div');
    header.className = 'anl-runs-header';
    const title = doc.createElement('h2');
    title.className = 'anl-runs-title';
    title.textContent = 'Agent runs';
    const refresh = doc.createElement('button');
    refresh.type = 'button';
    refresh.className = 'anl-icon-button';
    refresh.dataset.action = 'refresh';
    refresh.title = 'Refresh';
    refresh.setAttribute('aria-label', 'Refresh the list of runs');
    refresh.textContent = '⟳';
    header.append(title, refresh);

    this.filtersHost = doc.createElement('div');
    this.listHost = doc.createElement('div');
    this.listHost.className = 'anl-runs-body';
    this.statusLine = doc.createElement('div');
    this.statusLine.className = 'anl-runs-status';
    this.node.append(header, this.filtersHost, this.listHost, this.statusLine);
    this.filtersHost.append(filterControls(doc, null, this.filters));

    this.node.addEventListener('click', this.onClick);
    this.node.addEventListener('change', this.onChange);
    window.addEventListener(TRACE_SHOWN_EVENT, this.onTraceShown);
  }

  /** The run whose trace is open (highlighted in the list). */
  setActiveRun(runId: string | null): void {
    this.activeRun = runId;
    this.drawList();
  }

  /** Load the runs now; redraws only when something changed. */
  async refresh(): Promise<void> {
    if (this.loading) {
      return;
    }
    this.loading = true;
    try {
      const response = await this.load(runsQuery(this.filters));
      this.statusLine.textContent = storesLine(response);
      this.statusLine.title = response.stores.map(s => s.uri).join('\n');
      this.statusLine.classList.remove('anl-error');
      if (!sameRuns(response, this.response)) {
        this.response = response;
        this.filtersHost.replaceChildren(
          filterControls(this.node.ownerDocument, response, this.filters)
        );
      }
      this.drawList();
    } catch (error) {
      this.statusLine.textContent = error instanceof Error ? error.message : String(error);
      this.statusLine.classList.add('anl-error');
    } finally {
      this.loading = false;
    }
  }

  override dispose(): void {
    this.stopPolling();
    this.pending.forEach(t => window.clearTimeout(t));
    window.removeEventListener(TRACE_SHOWN_EVENT, this.onTraceShown);
    super.dispose();
  }

  protected override onAfterShow(): void {
    void this.refresh();
    this.stopPolling();
    this.timer = window.setInterval(() => void this.refresh(), this.pollSeconds * 1000);
  }

  protected override onAfterHide(): void {
    this.stopPolling();
  }

  private stopPolling(): void {
    if (this.timer !== undefined) {
      window.clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private drawList(): void {
    if (!this.response) {
      return;
    }
    const doc = this.node.ownerDocument;
    this.listHost.replaceChildren(
      runsList(doc, this.response, this.filters, this.activeRun, Date.now())
    );
    const n = this.response.runs.length;
    this.listHost.dataset.count = String(n);
  }

  private onClick = (event: MouseEvent): void => {
    const target = (event.target as Element | null)?.closest<HTMLElement>('[data-action]');
    if (!target) {
      return;
    }
    if (target.dataset.action === 'refresh') {
      void this.refresh();
    } else if (target.dataset.action === 'open-run') {
      const id = target.closest<HTMLElement>('[data-run-id]')?.dataset.runId;
      const run = this.response?.runs.find(r => r.run_id === id);
      if (run) {
        this.setActiveRun(run.run_id);
        this.openRun(run);
      }
    }
  };

  private onChange = (event: Event): void => {
    const select = event.target as HTMLSelectElement | null;
    const field = select?.dataset.filter as keyof RunFilters | undefined;
    if (!select || !field || !FILTER_FIELDS.includes(field)) {
      return;
    }
    this.filters = { ...this.filters, [field]: select.value };
    void this.refresh();
  };

  /** A trace was just shown in a notebook: its run is being committed; look again shortly. */
  private onTraceShown = (): void => {
    if (!this.isVisible) {
      return;
    }
    this.pending.forEach(t => window.clearTimeout(t));
    this.pending = [600, 2000].map(ms => window.setTimeout(() => void this.refresh(), ms));
  };
}
