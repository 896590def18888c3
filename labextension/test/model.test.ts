import { describe, expect, it } from 'vitest';

import {
  attributeFields,
  barGeometry,
  blockedActions,
  buildTree,
  filterCounts,
  guardErrors,
  headerMetrics,
  messageViews,
  parentIds,
  spanBadges,
  spanDetails,
  spanSummary,
  spanTitle,
  timeWindow,
  visibleRows
} from '../src/model';
import { TraceSpan, readPayload } from '../src/payload';
import fixture from './fixtures/blocked-run.json';
import guardErrorFixture from './fixtures/guard-error-run.json';

const payload = readPayload(fixture);
const span = (id: string): TraceSpan => payload.spans.find(s => s.id === id)!;

describe('the span tree', () => {
  it('nests spans under their parents, in payload order', () => {
    const roots = buildTree(payload.spans);
    expect(roots.map(r => r.span.id)).toEqual(['run']);
    expect(roots[0].children.map(c => [c.span.id, c.depth])).toEqual([
      ['chat-1', 1],
      ['tool-1.1', 1],
      ['chat-2', 1]
    ]);
    expect(roots[0].children[1].children.map(c => [c.span.id, c.depth])).toEqual([['guard-1', 2]]);
    expect(parentIds(roots)).toEqual(['run', 'tool-1.1']);
  });

  it('keeps a span whose parent is missing, as a root', () => {
    const orphan = { ...span('guard-1'), id: 'x', parent_id: 'gone' };
    expect(buildTree([span('run'), orphan]).map(r => r.span.id)).toEqual(['run', 'x']);
  });

  it('hides the children of collapsed spans', () => {
    const roots = buildTree(payload.spans);
    const ids = (collapsed: string[]): string[] =>
      visibleRows(roots, new Set(collapsed), 'all').map(r => r.node.span.id);
    expect(ids([])).toEqual(['run', 'chat-1', 'tool-1.1', 'guard-1', 'chat-2']);
    expect(ids(['tool-1.1'])).toEqual(['run', 'chat-1', 'tool-1.1', 'chat-2']);
    expect(ids(['run'])).toEqual(['run']);
    const rows = visibleRows(roots, new Set(['tool-1.1']), 'all');
    expect(rows.map(r => [r.hasChildren, r.expanded])).toEqual([
      [true, true],
      [false, true],
      [true, false],
      [false, true]
    ]);
  });

  it('filters to blocked or failed spans, keeping the path to them as context', () => {
    const roots = buildTree(payload.spans);
    expect(filterCounts(payload.spans)).toEqual({ all: 5, blocked: 2, failed: 0 });
    const blocked = visibleRows(roots, new Set(), 'blocked');
    expect(blocked.map(r => [r.node.span.id, r.context])).toEqual([
      ['run', true],
      ['tool-1.1', false],
      ['guard-1', false]
    ]);
    expect(visibleRows(roots, new Set(), 'failed')).toEqual([]);
    const failing = buildTree([span('run'), { ...span('chat-2'), status: 'error' }]);
    expect(visibleRows(failing, new Set(), 'failed').map(r => r.node.span.id)).toEqual([
      'run',
      'chat-2'
    ]);
  });
});

describe('timing', () => {
  it('places bars on the run timeline', () => {
    expect(timeWindow(payload)).toBeCloseTo(0.00044);
    expect(barGeometry(span('run'), 0.00044)).toEqual({ left: 0, width: 100 });
    const tool = barGeometry(span('tool-1.1'), 0.00044);
    expect(tool.left).toBeCloseTo(56.82, 1);
    expect(tool.width).toBeCloseTo(22.73, 1);
  });

  it('keeps tiny spans visible and inside the track', () => {
    expect(barGeometry({ ...span('chat-2'), start: 1, duration: 0 }, 1)).toEqual({
      left: 99.4,
      width: 0.6
    });
  });

  it('stretches the timeline to findings reported after the run', () => {
    const late = { ...span('run'), id: 'm', kind: 'monitor', start: 0.002, duration: 0 };
    expect(timeWindow({ ...payload, spans: [...payload.spans, late] })).toBe(0.002);
  });
});

describe('labels and badges', () => {
  it('titles spans without repeating their kind', () => {
    expect(payload.spans.map(spanTitle)).toEqual([
      'fx',
      'offline · turn 1',
      'convert',
      'at_most_1000',
      'offline · turn 2'
    ]);
  });

  it('badges verdicts, statuses, tokens and cost', () => {
    const texts = (id: string): [string, string, string][] =>
      spanBadges(span(id)).map(b => [b.role, b.text, b.tone]);
    expect(texts('run')).toEqual([
      ['status', '✓ ok', 'ok'],
      ['tokens', '96 → 35 tok', 'info'],
      ['cost', '$0', 'neutral']
    ]);
    expect(texts('chat-1')).toEqual([['tokens', '34 → 11 tok', 'info']]); // zero cost only on the run
    expect(texts('tool-1.1')).toEqual([['status', '⊘ blocked', 'blocked']]);
    expect(texts('guard-1')).toEqual([
      ['verdict', '⊘ block', 'blocked'],
      ['point', 'tool_call', 'neutral']
    ]);
  });

  it('shows a block that only warned as a warning', () => {
    const warned = {
      ...span('guard-1'),
      status: 'warn',
      attributes: { ...span('guard-1').attributes, 'agentnb.guard.action': 'warn' }
    };
    expect(spanBadges(warned)[0]).toMatchObject({
      text: '⊘ block',
      tone: 'warn',
      title: 'verdict: block → warn'
    });
  });

  it('names a failed tool call by its error type', () => {
    const failed = {
      ...span('tool-1.1'),
      status: 'error',
      attributes: { 'error.type': 'timeout' }
    };
    expect(spanBadges(failed)[0]).toMatchObject({ text: '✕ timeout', tone: 'error' });
  });

  it('summarises what each span did on its row', () => {
    expect(payload.spans.map(spanSummary)).toEqual([
      '',
      'calls convert(…)',
      '{"amount": 5000.0, "currency": "EUR"}',
      'on convert: 5000 dollars is over the 1,000 limit',
      '“I called convert but it failed: blocked by guard at_most_1000: 5000 dollars is over the 1,000 limit”'
    ]);
  });

  it('lists the actions guards stopped', () => {
    expect(blockedActions(payload).map(b => b.text)).toEqual([
      'at_most_1000 blocked tool call convert: 5000 dollars is over the 1,000 limit'
    ]);
  });

  it('sums the run up in the header', () => {
    expect(headerMetrics(payload).map(m => `${m.value} ${m.label}`)).toEqual([
      '0.44 ms duration',
      '2 turns',
      '1 tool call',
      '131 tokens',
      '$0 cost'
    ]);
  });
});

describe('details', () => {
  it('shows a tool call’s arguments, and what the model read when it was blocked', () => {
    const sections = spanDetails(span('tool-1.1'), payload);
    expect(sections.map(s => [s.kind, s.title])).toEqual([
      ['code', 'Arguments'],
      ['text', 'Blocked — the model read instead'],
      ['attributes', 'Attributes']
    ]);
    expect(sections[0]).toMatchObject({ text: '{\n  "amount": 5000,\n  "currency": "EUR"\n}' });
    expect(sections[1]).toMatchObject({
      text: 'blocked by guard at_most_1000: 5000 dollars is over the 1,000 limit',
      tone: 'blocked'
    });
  });

  it('shows a tool’s result', () => {
    const ok = {
      ...span('tool-1.1'),
      status: 'ok',
      attributes: {
        'gen_ai.tool.call.arguments': '{"amount": 1}',
        'gen_ai.tool.call.result': '{"converted": 0.86}'
      }
    };
    expect(spanDetails(ok).map(s => ('text' in s ? s.text : s.title))).toEqual([
      '{\n  "amount": 1\n}',
      '{\n  "converted": 0.86\n}',
      'Attributes'
    ]);
  });

  it('shows a model call’s messages, tool calls included', () => {
    const [response] = spanDetails(span('chat-1'), payload);
    expect(response).toEqual({
      kind: 'messages',
      title: 'Response',
      role: 'output',
      messages: [
        {
          role: 'assistant',
          parts: [
            {
              type: 'tool_call',
              name: 'convert',
              id: 'call_1_convert',
              text: '{\n  "amount": 5000,\n  "currency": "EUR"\n}'
            }
          ]
        }
      ]
    });
  });

  it('reads messages stored as JSON text, and redacted content', () => {
    expect(messageViews('[{"role":"user","parts":[{"type":"text","content":"hi"}]}]')).toEqual([
      { role: 'user', parts: [{ type: 'text', text: 'hi' }] }
    ]);
    expect(messageViews('[REDACTED]')).toEqual([
      { role: '', parts: [{ type: 'text', text: '[REDACTED]' }] }
    ]);
    expect(messageViews(undefined)).toEqual([]);
  });

  it('shows a verdict and its reason', () => {
    const [verdict, reason] = spanDetails(span('guard-1'), payload);
    expect(verdict).toEqual({
      kind: 'fields',
      title: 'Verdict',
      fields: [
        ['Guard', 'at_most_1000'],
        ['Point', 'tool_call'],
        ['Target', 'convert'],
        ['Outcome', 'block'],
        ['Action', 'skip']
      ]
    });
    expect(reason).toMatchObject({
      title: 'Reason',
      text: '5000 dollars is over the 1,000 limit',
      tone: 'blocked'
    });
  });

  it('shows the prompt and the output on the root', () => {
    const sections = spanDetails(span('run'), payload);
    expect(sections.slice(0, 2).map(s => ('text' in s ? s.text : ''))).toEqual([
      'How much is 5000 dollars in EUR?',
      'I called convert but it failed: blocked by guard at_most_1000: 5000 dollars is over the 1,000 limit'
    ]);
  });

  it('lists every attribute, sorted, long values clipped', () => {
    const fields = attributeFields(
      { ...span('chat-1'), attributes: { b: 'x'.repeat(500), a: 1 } },
      10
    );
    expect(fields).toEqual([
      ['a', '1'],
      ['b', 'xxxxxxxxx…']
    ]);
  });
});

describe('guard errors', () => {
  it('names each guard that raised once, in the order it first failed', () => {
    expect(guardErrors(readPayload(guardErrorFixture))).toEqual(['buggy_limit']);
    expect(guardErrors(payload)).toEqual([]);
  });
});
