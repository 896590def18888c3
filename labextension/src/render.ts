/**
 * The trace view as DOM: `renderTrace(doc, payload, state)` builds it, `reduce(state, action)`
 * says how a click changes what is shown. Both are plain functions (tests call them with a DOM
 * of their own); `widget.ts` wires them to JupyterLab.
 *
 * Every text from the run goes in with `textContent`: nothing from a payload is parsed as HTML.
 */

import { formatDuration, formatTimestamp, clip } from './format';
import {
  Badge,
  FILTERS,
  Row,
  Section,
  SpanFilter,
  blockedActions,
  barGeometry,
  buildTree,
  filterCounts,
  guardErrorBadges,
  headerMetrics,
  kindLabel,
  parentIds,
  spanBadges,
  spanDetails,
  spanSummary,
  spanTitle,
  statusBadge,
  timeWindow,
  visibleRows
} from './model';
import { TracePayload } from './payload';

/** What the reader changed: collapsed subtrees, opened details, the filter. */
export interface ViewState {
  collapsed: ReadonlySet<string>;
  open: ReadonlySet<string>;
  filter: SpanFilter;
}

/** Every subtree expanded, no details open, every span shown. */
export const INITIAL_STATE: ViewState = { collapsed: new Set(), open: new Set(), filter: 'all' };

/** A reader's action, as the `data-action` of the element clicked. */
export type Action =
  | { type: 'toggle-children'; id: string }
  | { type: 'toggle-details'; id: string }
  | { type: 'filter'; filter: SpanFilter }
  | { type: 'expand-all' }
  | { type: 'collapse-all' };

function toggled(set: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(set);
  if (!next.delete(id)) {
    next.add(id);
  }
  return next;
}

/** The state after `action` (a new object; `state` is not changed). */
export function reduce(state: ViewState, action: Action, payload: TracePayload): ViewState {
  switch (action.type) {
    case 'toggle-children':
      return { ...state, collapsed: toggled(state.collapsed, action.id) };
    case 'toggle-details':
      return { ...state, open: toggled(state.open, action.id) };
    case 'filter':
      return { ...state, filter: action.filter };
    case 'expand-all':
      return { ...state, collapsed: new Set() };
    case 'collapse-all':
      return { ...state, collapsed: new Set(parentIds(buildTree(payload.spans))), open: new Set() };
  }
}

/** The action an element stands for, read from its (or an ancestor's) `data-action`. */
export function actionOf(target: Element | null, root: Element): Action | null {
  const el = target?.closest<HTMLElement>('[data-action]');
  if (!el || !root.contains(el)) {
    return null;
  }
  const id = el.closest<HTMLElement>('[data-span-id]')?.dataset.spanId ?? '';
  switch (el.dataset.action) {
    case 'toggle-children':
      return { type: 'toggle-children', id };
    case 'toggle-details':
      return { type: 'toggle-details', id };
    case 'filter': {
      const filter = el.dataset.filter as SpanFilter;
      return FILTERS.includes(filter) ? { type: 'filter', filter } : null;
    }
    case 'expand-all':
      return { type: 'expand-all' };
    case 'collapse-all':
      return { type: 'collapse-all' };
    default:
      return null;
  }
}

// --- building -----------------------------------------------------------------------------------

type Children = (Node | string | null | undefined | false)[];

function h(
  doc: Document,
  tag: string,
  attrs: Record<string, string | undefined> = {},
  children: Children = []
): HTMLElement {
  const el = doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined) {
      el.setAttribute(key, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(typeof child === 'string' ? doc.createTextNode(child) : child);
  }
  return el;
}

/** A badge element (`.anl-badge.anl-tone-<tone>`). */
export function badgeElement(doc: Document, badge: Badge): HTMLElement {
  return h(
    doc,
    'span',
    { class: `anl-badge anl-tone-${badge.tone}`, title: badge.title, 'data-role': badge.role },
    [badge.text]
  );
}

function header(doc: Document, payload: TracePayload): HTMLElement {
  const title = h(doc, 'div', { class: 'anl-title' }, [
    badgeElement(doc, statusBadge(payload.status)),
    ...guardErrorBadges(payload).map(b => badgeElement(doc, b)),
    h(doc, 'span', { class: 'anl-agent', title: 'agent' }, [payload.agent || 'agent']),
    payload.agent_version
      ? h(doc, 'span', { class: 'anl-chip', title: 'agent version' }, [`v${payload.agent_version}`])
      : null,
    payload.model ? h(doc, 'span', { class: 'anl-model', title: 'model' }, [payload.model]) : null
  ]);
  const metrics = h(
    doc,
    'div',
    { class: 'anl-metrics' },
    headerMetrics(payload).map(m =>
      h(doc, 'span', { class: 'anl-metric', 'data-role': m.role }, [
        h(doc, 'b', {}, [m.value]),
        ` ${m.label}`
      ])
    )
  );
  const verdicts = payload.totals.verdicts;
  const verdictBadges = (['block', 'warn', 'rewrite', 'error'] as const)
    .filter(v => (verdicts[v] ?? 0) > 0)
    .map(v =>
      badgeElement(doc, {
        text: `${verdicts[v]} ${v === 'block' ? 'blocked' : v}`,
        tone:
          v === 'block'
            ? 'blocked'
            : v === 'rewrite'
              ? 'rewrite'
              : v === 'error'
                ? 'error'
                : 'warn',
        title: `guard verdicts: ${v}`,
        role: 'verdict-count'
      })
    );
  if (verdictBadges.length) {
    metrics.append(...verdictBadges);
  }
  return h(doc, 'header', { class: 'anl-header' }, [title, metrics]);
}

function conversation(doc: Document, payload: TracePayload): HTMLElement {
  const output =
    payload.output === null || payload.output === undefined
      ? ''
      : typeof payload.output === 'string'
        ? payload.output
        : JSON.stringify(payload.output);
  return h(doc, 'div', { class: 'anl-conversation' }, [
    h(doc, 'div', { class: 'anl-line', 'data-role': 'prompt', title: payload.prompt }, [
      h(doc, 'span', { class: 'anl-line-label' }, ['Prompt']),
      h(doc, 'span', { class: 'anl-line-text' }, [clip(payload.prompt, 400)])
    ]),
    output
      ? h(doc, 'div', { class: 'anl-line', 'data-role': 'output', title: output }, [
          h(doc, 'span', { class: 'anl-line-label' }, ['Answer']),
          h(doc, 'span', { class: 'anl-line-text' }, [clip(output, 400)])
        ])
      : null,
    payload.error
      ? h(doc, 'div', { class: 'anl-line anl-line-error', 'data-role': 'error' }, [
          h(doc, 'span', { class: 'anl-line-label' }, [payload.error_type ?? 'Error']),
          h(doc, 'span', { class: 'anl-line-text' }, [clip(payload.error, 400)])
        ])
      : null
  ]);
}

function alerts(doc: Document, payload: TracePayload): HTMLElement | null {
  const blocked = blockedActions(payload);
  if (!blocked.length) {
    return null;
  }
  return h(
    doc,
    'div',
    { class: 'anl-alerts', role: 'status' },
    blocked.map(b =>
      h(doc, 'div', { class: 'anl-alert', 'data-span-id': b.span.id }, [
        h(doc, 'span', { class: 'anl-alert-icon', 'aria-hidden': 'true' }, ['⊘']),
        h(doc, 'span', {}, [b.text])
      ])
    )
  );
}

const FILTER_LABELS: Record<SpanFilter, string> = {
  all: 'All',
  blocked: 'Blocked',
  failed: 'Failed'
};

function toolbar(doc: Document, payload: TracePayload, state: ViewState): HTMLElement {
  const counts = filterCounts(payload.spans);
  const filters = h(
    doc,
    'div',
    { class: 'anl-segmented', role: 'group', 'aria-label': 'Show spans' },
    FILTERS.map(f =>
      h(
        doc,
        'button',
        {
          type: 'button',
          class: `anl-segment${state.filter === f ? ' anl-active' : ''}`,
          'data-action': 'filter',
          'data-filter': f,
          'aria-pressed': String(state.filter === f),
          title: f === 'all' ? 'Show every span' : `Show only ${f} spans (and the path to them)`,
          disabled: f !== 'all' && counts[f] === 0 && state.filter !== f ? '' : undefined
        },
        [FILTER_LABELS[f], h(doc, 'span', { class: 'anl-count' }, [String(counts[f])])]
      )
    )
  );
  const buttons = h(doc, 'div', { class: 'anl-tree-buttons' }, [
    h(doc, 'button', { type: 'button', class: 'anl-link', 'data-action': 'expand-all' }, [
      'Expand all'
    ]),
    h(doc, 'button', { type: 'button', class: 'anl-link', 'data-action': 'collapse-all' }, [
      'Collapse all'
    ])
  ]);
  return h(doc, 'div', { class: 'anl-toolbar' }, [filters, buttons]);
}

function sectionElement(doc: Document, section: Section): HTMLElement {
  const title = h(doc, 'div', { class: 'anl-section-title' }, [section.title]);
  switch (section.kind) {
    case 'fields':
    case 'attributes': {
      const rows = section.fields.map(([k, v]) =>
        h(doc, 'tr', {}, [h(doc, 'th', { scope: 'row' }, [k]), h(doc, 'td', {}, [v])])
      );
      const table = h(doc, 'table', { class: 'anl-fields' }, [h(doc, 'tbody', {}, rows)]);
      if (section.kind === 'attributes') {
        return h(doc, 'details', { class: 'anl-section', 'data-role': 'attributes' }, [
          h(doc, 'summary', { class: 'anl-section-title' }, [
            `${section.title} (${section.fields.length})`
          ]),
          table
        ]);
      }
      return h(doc, 'div', { class: 'anl-section', 'data-role': 'fields' }, [title, table]);
    }
    case 'code':
      return h(
        doc,
        'div',
        {
          class: `anl-section${section.tone ? ` anl-tone-box anl-tone-${section.tone}` : ''}`,
          'data-role': section.role
        },
        [title, h(doc, 'pre', { class: 'anl-code' }, [section.text])]
      );
    case 'text':
      return h(
        doc,
        'div',
        {
          class: `anl-section${section.tone ? ` anl-tone-box anl-tone-${section.tone}` : ''}`,
          'data-role': section.role
        },
        [title, h(doc, 'div', { class: 'anl-text' }, [section.text])]
      );
    case 'messages':
      return h(doc, 'div', { class: 'anl-section', 'data-role': section.role }, [
        title,
        ...section.messages.map(m =>
          h(doc, 'div', { class: `anl-message anl-role-${m.role || 'unknown'}` }, [
            m.role ? h(doc, 'span', { class: 'anl-role' }, [m.role]) : null,
            ...m.parts.map(p => {
              switch (p.type) {
                case 'tool_call':
                  return h(doc, 'div', { class: 'anl-part anl-part-call' }, [
                    h(doc, 'div', { class: 'anl-part-head' }, [
                      `→ ${p.name}`,
                      p.id ? h(doc, 'span', { class: 'anl-muted' }, [` ${p.id}`]) : null
                    ]),
                    h(doc, 'pre', { class: 'anl-code' }, [p.text])
                  ]);
                case 'tool_call_response':
                  return h(doc, 'div', { class: 'anl-part anl-part-result' }, [
                    h(doc, 'div', { class: 'anl-part-head' }, [
                      '← result',
                      p.id ? h(doc, 'span', { class: 'anl-muted' }, [` ${p.id}`]) : null
                    ]),
                    h(doc, 'pre', { class: 'anl-code' }, [p.text])
                  ]);
                default:
                  return h(doc, 'div', { class: 'anl-part anl-text' }, [p.text]);
              }
            })
          ])
        )
      ]);
  }
}

function rowElement(doc: Document, row: Row, window: number, open: boolean): HTMLElement {
  const span = row.node.span;
  const bar = barGeometry(span, window);
  const summary = spanSummary(span);
  const caret = row.hasChildren
    ? h(
        doc,
        'button',
        {
          type: 'button',
          class: 'anl-caret',
          'data-action': 'toggle-children',
          'aria-label': row.expanded ? 'Collapse' : 'Expand',
          title: row.expanded ? 'Hide the spans inside' : 'Show the spans inside'
        },
        [row.expanded ? '▾' : '▸']
      )
    : h(doc, 'span', { class: 'anl-caret anl-caret-leaf', 'aria-hidden': 'true' });
  const name = h(doc, 'div', { class: 'anl-cell-name' }, [
    h(doc, 'span', { class: 'anl-indent', style: `width: ${row.depth * 16}px` }),
    caret,
    h(doc, 'span', { class: `anl-kind anl-kind-${span.kind}` }, [kindLabel(span.kind)]),
    h(doc, 'span', { class: 'anl-name', title: span.name }, [spanTitle(span)]),
    ...spanBadges(span).map(b => badgeElement(doc, b)),
    summary ? h(doc, 'span', { class: 'anl-summary', title: summary }, [summary]) : null
  ]);
  const timeline = h(doc, 'div', { class: 'anl-cell-timeline', 'aria-hidden': 'true' }, [
    h(doc, 'div', {
      class: `anl-bar anl-bar-${span.kind}`,
      style: `left: ${bar.left.toFixed(3)}%; width: ${bar.width.toFixed(3)}%`,
      title: `starts at ${formatDuration(span.start)}, takes ${formatDuration(span.duration)}`
    })
  ]);
  const duration = h(doc, 'div', { class: 'anl-cell-duration' }, [
    span.kind === 'monitor' ? `+${formatDuration(span.start)}` : formatDuration(span.duration)
  ]);
  const rowEl = h(
    doc,
    'div',
    {
      class: `anl-row${row.context ? ' anl-context' : ''}${open ? ' anl-open' : ''}`,
      role: 'treeitem',
      tabindex: '0',
      'data-action': 'toggle-details',
      'data-span-id': span.id,
      'data-kind': span.kind,
      'data-status': span.status,
      'aria-level': String(row.depth + 1),
      'aria-expanded': String(open),
      title: 'Show the details of this span'
    },
    [name, timeline, duration]
  );
  return rowEl;
}

function detailsElement(
  doc: Document,
  span: TracePayload['spans'][number],
  payload: TracePayload
): HTMLElement {
  return h(
    doc,
    'div',
    { class: 'anl-details', 'data-span-id': span.id, 'data-details-for': span.id, role: 'region' },
    spanDetails(span, payload).map(s => sectionElement(doc, s))
  );
}

/** The whole trace view for `payload` as shown under `state`. */
export function renderTrace(doc: Document, payload: TracePayload, state: ViewState): HTMLElement {
  const roots = buildTree(payload.spans);
  const rows = visibleRows(roots, state.collapsed, state.filter);
  const window = timeWindow(payload);
  const tree = h(doc, 'div', {
    class: 'anl-spans',
    role: 'tree',
    'aria-label': 'Spans of the run'
  });
  tree.append(
    h(doc, 'div', { class: 'anl-row anl-row-head', 'aria-hidden': 'true' }, [
      h(doc, 'div', { class: 'anl-cell-name' }, ['Span']),
      h(doc, 'div', { class: 'anl-cell-timeline anl-scale' }, [
        h(doc, 'span', {}, ['0']),
        h(doc, 'span', {}, [formatDuration(window / 2)]),
        h(doc, 'span', {}, [formatDuration(window)])
      ]),
      h(doc, 'div', { class: 'anl-cell-duration' }, ['Duration'])
    ])
  );
  for (const row of rows) {
    const open = state.open.has(row.node.span.id);
    tree.append(rowElement(doc, row, window, open));
    if (open) {
      tree.append(detailsElement(doc, row.node.span, payload));
    }
  }
  if (!rows.length) {
    tree.append(h(doc, 'div', { class: 'anl-empty' }, [`No ${state.filter} spans in this run.`]));
  }
  const footer = h(doc, 'footer', { class: 'anl-footer' }, [
    h(doc, 'span', { title: 'run id (= OpenTelemetry trace id)' }, [`run ${payload.run_id}`]),
    payload.started_at
      ? h(doc, 'span', {}, [`started ${formatTimestamp(payload.started_at)}`])
      : null,
    h(doc, 'span', {}, [`${payload.spans.length} spans`])
  ]);
  return h(
    doc,
    'div',
    {
      class: 'anl-trace',
      'data-run-id': payload.run_id,
      'data-status': payload.status,
      'data-span-count': String(payload.spans.length)
    },
    [
      header(doc, payload),
      conversation(doc, payload),
      alerts(doc, payload),
      toolbar(doc, payload, state),
      tree,
      footer
    ]
  );
}

/** A readable error in place of a trace (bad payload, failed request). */
export function renderError(doc: Document, message: string): HTMLElement {
  return h(doc, 'div', { class: 'anl-trace anl-trace-error', role: 'alert' }, [
    h(doc, 'span', { class: 'anl-badge anl-tone-error' }, ['✕ cannot show this trace']),
    h(doc, 'span', { class: 'anl-text' }, [message])
  ]);
}
