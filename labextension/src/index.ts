/**
 * The JupyterLab plugin: the "Agent runs" sidebar and the command that opens a run's trace in
 * the main area. The cell-output renderer is the MIME extension in `mime.ts`.
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { fetchTrace } from './api';
import { RunsPanel } from './sidebar';
import { TraceWidget } from './widget';

export { MIME_TYPE } from './payload';

/** Command ids. */
export namespace CommandIDs {
  export const openTrace = 'agentnb:open-trace';
  export const showRuns = 'agentnb:show-runs';
}

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="3.5" width="11" height="3.5" rx="1.2"/>
    <rect x="6" y="10.25" width="13" height="3.5" rx="1.2"/>
    <rect x="11" y="17" width="11" height="3.5" rx="1.2"/>
  </g>
</svg>`;

/** The icon of the sidebar tab and of trace tabs: a small waterfall of spans. */
export const runsIcon = new LabIcon({ name: 'agentnb:runs', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'agentnb:runs-sidebar',
  description: 'The Agent runs sidebar: recent runs from the agentnb telemetry store.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const traces = new Map<string, MainAreaWidget<TraceWidget>>();

    const panel = new RunsPanel({
      openRun: run =>
        void app.commands.execute(CommandIDs.openTrace, {
          runId: run.run_id,
          label: `${run.agent} ${run.version}`
        })
    });
    panel.id = 'agentnb-runs';
    panel.title.icon = runsIcon;
    panel.title.caption = 'Agent runs';
    app.shell.add(panel, 'left', { rank: 650 });
    restorer?.add(panel, 'agentnb-runs');

    app.commands.addCommand(CommandIDs.openTrace, {
      label: 'Open Agent Run Trace',
      caption: 'Open the trace of an agent run from the telemetry store',
      execute: async args => {
        const runId = String(args.runId ?? '');
        const existing = traces.get(runId);
        if (existing && !existing.isDisposed) {
          app.shell.activateById(existing.id);
          return;
        }
        const content = new TraceWidget();
        content.node.textContent = 'Loading the trace…';
        const widget = new MainAreaWidget({ content });
        widget.id = `agentnb-trace-${runId}`;
        widget.addClass('anl-trace-tab');
        widget.title.label = `${String(args.label ?? 'run')} · ${runId.slice(0, 8)}`;
        widget.title.caption = `Agent run ${runId}`;
        widget.title.icon = runsIcon;
        widget.title.closable = true;
        traces.set(runId, widget);
        widget.disposed.connect(() => {
          traces.delete(runId);
          panel.setActiveRun(null);
        });
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        try {
          content.showTrace(await fetchTrace(runId));
        } catch (error) {
          content.showError(error instanceof Error ? error.message : String(error));
        }
      }
    });

    app.commands.addCommand(CommandIDs.showRuns, {
      label: 'Show Agent Runs',
      caption: 'Show the Agent runs sidebar',
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: CommandIDs.showRuns, category: 'agentnb' });
  }
};

export default plugin;
