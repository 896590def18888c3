/**
 * What the trace view shows, computed from the payload: the span tree, the visible rows under
 * a filter, timing bars, badges and the detail sections of a span. Pure functions, no DOM.
 */

import {
  clip,
  formatCost,
  formatCount,
  formatDuration,
  formatTokens,
  prettyJson,
  showValue
} from './format';
import { TracePayload, TraceSpan } from './payload';

/** Attribute names read here (OpenTelemetry GenAI conventions and agentnb's own). */
export const ATTR = {
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  cost: 'agentnb.usage.cost_usd',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolArguments: 'gen_ai.tool.call.arguments',
  toolResult: 'gen_ai.tool.call.result',
  errorType: 'error.type',
  errorMessage: 'agentnb.error.message',
  guardName: 'agentnb.guard.name',
  guardPoint: 'agentnb.guard.point',
  guardOutcome: 'agentnb.guard.outcome',
  guardAction: 'agentnb.guard.action',
  guardReason: 'agentnb.guard.reason',
  guardTarget: 'agentnb.guard.target',
  monitorName: 'agentnb.monitor.name',
  monitorSeverity: 'agentnb.monitor.severity',
  monitorMessage: 'agentnb.monitor.message',
  monitorEvidence: 'agentnb.monitor.evidence'
} as const;

// --- the tree ---------------------------------------------------------------------------------

/** A span with its place in the tree. */
export interface SpanNode {
  span: TraceSpan;
  depth: number;
  children: SpanNode[];
}

/**
 * The spans as a forest, in payload order (depth first, siblings by start). A span whose parent
 * is missing becomes a root, so nothing is ever dropped.
 */
export function buildTree(spans: readonly TraceSpan[]): SpanNode[] {
  const nodes = new Map<string, SpanNode>();
  for (const span of spans) {
    nodes.set(span.id, { span, depth: 0, children: [] });
  }
  const roots: SpanNode[] = [];
  for (const span of spans) {
    const node = nodes.get(span.id)!;
    const parent = span.parent_id !== null ? nodes.get(span.parent_id) : undefined;
    if (parent && parent !== node) {
      parent.children.push(node);
    } else {
      roots.push(node);
    }
  }
  const setDepth = (node: SpanNode, depth: number): void => {
    node.depth = depth;
    node.children.forEach(child => setDepth(child, depth + 1));
  };
  roots.forEach(root => setDepth(root, 0));
  return roots;
}

/** The ids of every span that has children (what "collapse all" collapses). */
export function parentIds(roots: readonly SpanNode[]): string[] {
  const out: string[] = [];
  const visit = (node: SpanNode): void => {
    if (node.children.length) {
      out.push(node.span.id);
    }
    node.children.forEach(visit);
  };
  roots.forEach(visit);
  return out;
}

// --- filters ----------------------------------------------------------------------------------

/** Which spans the view shows: all, those a guard stopped, or those that failed. */
export type SpanFilter = 'all' | 'blocked' | 'failed';

/** The filters in the order the toolbar shows them. */
export const FILTERS: readonly SpanFilter[] = ['all', 'blocked', 'failed'];

/** Whether `span` is kept by `filter`. */
export function matchesFilter(span: TraceSpan, filter: SpanFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'blocked':
      return span.status === 'blocked';
    case 'failed':
      return span.status === 'error' || span.status === 'cancelled';
  }
}

/** How many spans each filter keeps. */
export function filterCounts(spans: readonly TraceSpan[]): Record<SpanFilter, number> {
  const counts: Record<SpanFilter, number> = { all: 0, blocked: 0, failed: 0 };
  for (const span of spans) {
    for (const f of FILTERS) {
      counts[f] += Number(matchesFilter(span, f));
    }
  }
  return counts;
}

/** One line of the tree as shown. */
export interface Row {
  node: SpanNode;
  depth: number;
  hasChildren: boolean;
  expanded: boolean;
  /** Shown only as the path to a span the filter keeps. */
  context: boolean;
}

/**
 * The rows to show: depth first, skipping the children of collapsed spans. Under a filter, a
 * span is shown when it or a descendant matches; spans that only lead to a match are `context`.
 */
export function visibleRows(
  roots: readonly SpanNode[],
  collapsed: ReadonlySet<string>,
  filter: SpanFilter
): Row[] {
  const rows: Row[] = [];
  const keeps = (node: SpanNode): boolean =>
    matchesFilter(node.span, filter) || node.children.some(keeps);
  const visit = (node: SpanNode): void => {
    if (!keeps(node)) {
      return;
    }
    const expanded = !collapsed.has(node.span.id);
    rows.push({
      node,
      depth: node.depth,
      hasChildren: node.children.length > 0,
      expanded,
      context: filter !== 'all' && !matchesFilter(node.span, filter)
    });
    if (expanded) {
      node.children.forEach(visit);
    }
  };
  roots.forEach(visit);
  return rows;
}

// --- timing -----------------------------------------------------------------------------------

/** Seconds the timeline spans: the run, or later when a monitor reported after it ended. */
export function timeWindow(payload: TracePayload): number {
  let end = payload.duration;
  for (const span of payload.spans) {
    end = Math.max(end, span.start + span.duration);
  }
  return end > 0 ? end : 1;
}

/** A span's bar as percentages of the timeline (at least `minWidth` wide, so it shows). */
export function barGeometry(
  span: TraceSpan,
  window: number,
  minWidth = 0.6
): { left: number; width: number } {
  const left = Math.min(100, Math.max(0, (span.start / window) * 100));
  const width = Math.max(minWidth, Math.min(100 - left, (span.duration / window) * 100));
  return { left: Math.min(left, 100 - minWidth), width };
}

// --- labels and badges ------------------------------------------------------------------------

/** The colour family of a badge. */
export type Tone = 'ok' | 'warn' | 'error' | 'blocked' | 'info' | 'neutral' | 'rewrite';

/** A small coloured label on a row: a verdict, a status, tokens, cost. */
export interface Badge {
  text: string;
  tone: Tone;
  /** What the badge means, for a tooltip. */
  title: string;
  /** A stable name for styling and tests: `tokens`, `cost`, `verdict`, `status`, … */
  role: string;
}

const KIND_LABELS: Record<string, string> = {
  invoke_agent: 'agent',
  chat: 'llm',
  execute_tool: 'tool',
  guard: 'guard',
  monitor: 'monitor'
};

/** The short tag of a span's kind: `agent`, `llm`, `tool`, `guard`, `monitor`. */
export function kindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** A span's title without the kind prefix the tag already shows: `chat gpt-4o` → `gpt-4o`. */
export function spanTitle(span: TraceSpan): string {
  const prefix = `${span.kind} `;
  const title = span.name.startsWith(prefix) ? span.name.slice(prefix.length) : span.name;
  if (span.kind === 'chat' && span.step !== null) {
    return `${title} · turn ${span.step}`;
  }
  return title || span.name;
}

const VERDICT_BADGES: Record<string, [string, Tone]> = {
  pass: ['✓ pass', 'ok'],
  warn: ['⚠ warn', 'warn'],
  block: ['⊘ block', 'blocked'],
  rewrite: ['✎ rewrite', 'rewrite'],
  error: ['✕ error', 'error']
};

const STATUS_BADGES: Record<string, [string, Tone]> = {
  ok: ['✓ ok', 'ok'],
  warn: ['⚠ warn', 'warn'],
  error: ['✕ error', 'error'],
  blocked: ['⊘ blocked', 'blocked'],
  cancelled: ['■ cancelled', 'neutral']
};

/** The badge of a run or span status. */
export function statusBadge(status: string): Badge {
  const [text, tone] = STATUS_BADGES[status] ?? [status, 'neutral'];
  return { text, tone, title: `status: ${status}`, role: 'status' };
}

function numberAttr(span: TraceSpan, key: string): number | undefined {
  const value = span.attributes[key];
  return typeof value === 'number' ? value : undefined;
}

function textAttr(span: TraceSpan, key: string): string | undefined {
  const value = span.attributes[key];
  return typeof value === 'string' ? value : undefined;
}

/** The badges on a span's row: tokens and cost, verdicts, errors, severities. */
export function spanBadges(span: TraceSpan): Badge[] {
  const badges: Badge[] = [];
  const tokensIn = numberAttr(span, ATTR.inputTokens);
  const tokensOut = numberAttr(span, ATTR.outputTokens);
  const cost = numberAttr(span, ATTR.cost);
  if (span.kind === 'guard') {
    const outcome = textAttr(span, ATTR.guardOutcome) ?? 'pass';
    const [text, tone] = VERDICT_BADGES[outcome] ?? [outcome, 'neutral'];
    const action = textAttr(span, ATTR.guardAction);
    const stopped = span.status === 'blocked';
    badges.push({
      text,
      tone: outcome === 'block' && !stopped ? 'warn' : tone,
      title: `verdict: ${outcome}${action ? ` → ${action}` : ''}`,
      role: 'verdict'
    });
    const point = textAttr(span, ATTR.guardPoint);
    if (point) {
      badges.push({ text: point, tone: 'neutral', title: 'guard point', role: 'point' });
    }
    return badges;
  }
  if (span.kind === 'monitor') {
    const severity = textAttr(span, ATTR.monitorSeverity) ?? 'info';
    const tone: Tone = severity === 'error' ? 'error' : severity === 'warning' ? 'warn' : 'info';
    badges.push({ text: severity, tone, title: 'finding severity', role: 'severity' });
    return badges;
  }
  if (span.status !== 'ok' || span.kind === 'invoke_agent') {
    const badge = statusBadge(span.status);
    const errorType = textAttr(span, ATTR.errorType);
    if (span.status === 'error' && errorType) {
      badge.text = `✕ ${errorType}`;
    }
    badges.push(badge);
  }
  if (tokensIn !== undefined || tokensOut !== undefined) {
    badges.push({
      text: formatTokens(tokensIn ?? 0, tokensOut ?? 0),
      tone: 'info',
      title: 'input → output tokens',
      role: 'tokens'
    });
  }
  // Zero cost (local models) is said once, on the run, not on every model call.
  if (cost !== undefined && (cost > 0 || span.kind === 'invoke_agent')) {
    badges.push({
      text: formatCost(cost),
      tone: 'neutral',
      title: 'estimated cost (USD)',
      role: 'cost'
    });
  }
  return badges;
}

/** One line under a span's row saying what it did, e.g. the tool's arguments or the reason. */
export function spanSummary(span: TraceSpan): string {
  const a = span.attributes;
  switch (span.kind) {
    case 'execute_tool': {
      const args = textAttr(span, ATTR.toolArguments);
      return args !== undefined ? clip(args, 120) : '';
    }
    case 'guard': {
      const reason = textAttr(span, ATTR.guardReason);
      const target = textAttr(span, ATTR.guardTarget);
      return clip([target ? `on ${target}` : '', reason ?? ''].filter(Boolean).join(': '), 140);
    }
    case 'monitor':
      return clip(showValue(a[ATTR.monitorMessage] ?? ''), 140);
    case 'chat': {
      const parts = outputParts(a[ATTR.outputMessages]);
      const calls = parts.filter(p => p.type === 'tool_call').map(p => `${p.name}(…)`);
      const text = parts.find(p => p.type === 'text');
      if (calls.length) {
        return `calls ${calls.join(', ')}`;
      }
      return text ? clip(`“${text.text}”`, 140) : '';
    }
    default:
      return '';
  }
}

// --- details ----------------------------------------------------------------------------------

/** One part of a chat message, ready to show. */
export type PartView =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; name: string; id: string; text: string }
  | { type: 'tool_call_response'; id: string; text: string }
  | { type: 'other'; text: string };

/** A chat message (GenAI semantic conventions) ready to show. */
export interface MessageView {
  role: string;
  parts: PartView[];
}

/** A block of a span's details. */
export type Section =
  | { kind: 'fields'; title: string; fields: [string, string][] }
  | { kind: 'code'; title: string; text: string; role: string; tone?: Tone }
  | { kind: 'text'; title: string; text: string; role: string; tone?: Tone }
  | { kind: 'messages'; title: string; messages: MessageView[]; role: string }
  | { kind: 'attributes'; title: string; fields: [string, string][] };

function parseMaybe(value: unknown): unknown {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function partView(part: unknown): PartView {
  if (typeof part !== 'object' || part === null) {
    return { type: 'other', text: showValue(part) };
  }
  const p = part as Record<string, unknown>;
  switch (p.type) {
    case 'text':
      return { type: 'text', text: showValue(p.content ?? '') };
    case 'tool_call':
      return {
        type: 'tool_call',
        name: showValue(p.name ?? ''),
        id: showValue(p.id ?? ''),
        text: typeof p.arguments === 'string' ? prettyJson(p.arguments) : showValue(p.arguments, 2)
      };
    case 'tool_call_response':
      return {
        type: 'tool_call_response',
        id: showValue(p.id ?? ''),
        text: typeof p.response === 'string' ? prettyJson(p.response) : showValue(p.response, 2)
      };
    default:
      return { type: 'other', text: showValue(part, 2) };
  }
}

/** GenAI-convention messages (`[{role, parts: [...]}]`, as JSON data or text) to show. */
export function messageViews(value: unknown): MessageView[] {
  const messages = parseMaybe(value);
  if (!Array.isArray(messages)) {
    return value === undefined || value === null
      ? []
      : [{ role: '', parts: [{ type: 'text', text: showValue(value) }] }];
  }
  return messages.map(m => {
    const message = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    const parts = Array.isArray(message.parts) ? message.parts.map(partView) : [];
    return { role: showValue(message.role ?? ''), parts };
  });
}

function outputParts(value: unknown): PartView[] {
  return messageViews(value).flatMap(m => m.parts);
}

/** The sections shown when a span is expanded: what it did first, every attribute last. */
export function spanDetails(span: TraceSpan, payload?: TracePayload): Section[] {
  const a = span.attributes;
  const sections: Section[] = [];
  const error = textAttr(span, ATTR.errorMessage);
  switch (span.kind) {
    case 'invoke_agent': {
      if (payload) {
        sections.push({ kind: 'text', title: 'Prompt', text: payload.prompt, role: 'prompt' });
        if (payload.output !== null && payload.output !== undefined) {
          sections.push({
            kind: typeof payload.output === 'string' ? 'text' : 'code',
            title: 'Output',
            text: showValue(payload.output, 2),
            role: 'output'
          });
        }
      }
      if (error) {
        sections.push({ kind: 'text', title: 'Error', text: error, role: 'error', tone: 'error' });
      }
      break;
    }
    case 'chat': {
      const input = messageViews(a[ATTR.inputMessages]);
      if (input.length) {
        sections.push({
          kind: 'messages',
          title: 'Input messages',
          messages: input,
          role: 'input'
        });
      }
      const output = messageViews(a[ATTR.outputMessages]);
      if (output.length) {
        sections.push({ kind: 'messages', title: 'Response', messages: output, role: 'output' });
      }
      if (error) {
        sections.push({ kind: 'text', title: 'Error', text: error, role: 'error', tone: 'error' });
      }
      break;
    }
    case 'execute_tool': {
      const args = a[ATTR.toolArguments];
      if (args !== undefined) {
        sections.push({
          kind: 'code',
          title: 'Arguments',
          text: typeof args === 'string' ? prettyJson(args) : showValue(args, 2),
          role: 'arguments'
        });
      }
      const result = a[ATTR.toolResult];
      if (result !== undefined) {
        sections.push({
          kind: 'code',
          title: 'Result',
          text: typeof result === 'string' ? prettyJson(result) : showValue(result, 2),
          role: 'result'
        });
      }
      if (error) {
        const blocked = span.status === 'blocked';
        sections.push({
          kind: 'text',
          title: blocked ? 'Blocked — the model read instead' : 'Error — the model read instead',
          text: error,
          role: 'error',
          tone: blocked ? 'blocked' : 'error'
        });
      }
      break;
    }
    case 'guard': {
      const fields: [string, string][] = [];
      const add = (label: string, key: string): void => {
        const value = a[key];
        if (value !== undefined && value !== null && value !== '') {
          fields.push([label, showValue(value)]);
        }
      };
      add('Guard', ATTR.guardName);
      add('Point', ATTR.guardPoint);
      add('Target', ATTR.guardTarget);
      add('Outcome', ATTR.guardOutcome);
      add('Action', ATTR.guardAction);
      sections.push({ kind: 'fields', title: 'Verdict', fields });
      const reason = textAttr(span, ATTR.guardReason);
      if (reason) {
        const tone: Tone =
          span.status === 'blocked' ? 'blocked' : span.status === 'ok' ? 'ok' : 'warn';
        sections.push({ kind: 'text', title: 'Reason', text: reason, role: 'reason', tone });
      }
      break;
    }
    case 'monitor': {
      const message = a[ATTR.monitorMessage];
      if (message !== undefined) {
        sections.push({
          kind: 'text',
          title: 'Finding',
          text: showValue(message),
          role: 'finding'
        });
      }
      const evidence = a[ATTR.monitorEvidence];
      if (evidence !== undefined && evidence !== null) {
        sections.push({
          kind: 'code',
          title: 'Evidence',
          text: showValue(parseMaybe(evidence), 2),
          role: 'evidence'
        });
      }
      break;
    }
  }
  if (span.events && span.events.length) {
    sections.push({
      kind: 'fields',
      title: 'Events',
      fields: span.events.map(e => [e.name, showValue(e.attributes ?? {})])
    });
  }
  sections.push({ kind: 'attributes', title: 'Attributes', fields: attributeFields(span) });
  return sections;
}

/** Every attribute as `[name, value]`, names sorted; long values are clipped. */
export function attributeFields(span: TraceSpan, max = 400): [string, string][] {
  return Object.keys(span.attributes)
    .sort()
    .map(key => {
      const text = showValue(span.attributes[key]);
      return [key, text.length > max ? `${text.slice(0, max - 1)}…` : text];
    });
}

// --- the run header ---------------------------------------------------------------------------

/** The numbers in a trace's header, in order. */
export function headerMetrics(
  payload: TracePayload
): { label: string; value: string; role: string }[] {
  const t = payload.totals;
  return [
    { label: 'duration', value: formatDuration(payload.duration), role: 'duration' },
    { label: t.steps === 1 ? 'turn' : 'turns', value: formatCount(t.steps), role: 'steps' },
    {
      label: t.tool_calls === 1 ? 'tool call' : 'tool calls',
      value: formatCount(t.tool_calls),
      role: 'tool-calls'
    },
    { label: 'tokens', value: formatCount(t.total_tokens), role: 'tokens' },
    { label: 'cost', value: formatCost(t.cost), role: 'cost' }
  ];
}

/**
 * The guards that raised during the run (verdict outcome `error`), each once, in the order they
 * first failed. A guard that raises fails closed, so the run may still end `ok`: the header says
 * which guard has a bug.
 */
export function guardErrors(payload: TracePayload): string[] {
  const names = payload.spans
    .filter(s => s.kind === 'guard' && textAttr(s, ATTR.guardOutcome) === 'error')
    .map(s => textAttr(s, ATTR.guardName) ?? s.name);
  return [...new Set(names)];
}

/** The red header badge of each guard that raised: `✕ guard error: <name>`. */
export function guardErrorBadges(payload: TracePayload): Badge[] {
  return guardErrors(payload).map(name => ({
    text: `✕ guard error: ${name}`,
    tone: 'error',
    title: `guard ${name} raised an exception: the action it checked was stopped`,
    role: 'guard-error'
  }));
}

/** Spans a guard stopped, each with the guard and its reason, for the alert under the header. */
export function blockedActions(payload: TracePayload): { span: TraceSpan; text: string }[] {
  return payload.spans
    .filter(s => s.kind === 'guard' && s.status === 'blocked')
    .map(s => {
      const guard = textAttr(s, ATTR.guardName) ?? s.name;
      const target = textAttr(s, ATTR.guardTarget);
      const point = textAttr(s, ATTR.guardPoint) ?? '';
      const reason = textAttr(s, ATTR.guardReason);
      const what = target ? `${point.replace('_', ' ')} ${target}` : point.replace('_', ' ');
      return { span: s, text: `${guard} blocked ${what}${reason ? `: ${reason}` : ''}` };
    });
}
