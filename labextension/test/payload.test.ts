import { describe, expect, it } from 'vitest';

import { MIME_TYPE, PayloadError, readPayload } from '../src/payload';
import fixture from './fixtures/blocked-run.json';

describe('readPayload', () => {
  it('reads the payload agentnb writes', () => {
    const payload = readPayload(fixture);
    expect(MIME_TYPE).toBe('application/vnd.agentnb.trace+json');
    expect(payload.version).toBe(1);
    expect(payload.agent).toBe('fx');
    expect(payload.spans.map(s => [s.id, s.parent_id, s.kind, s.status])).toEqual([
      ['run', null, 'invoke_agent', 'ok'],
      ['chat-1', 'run', 'chat', 'ok'],
      ['tool-1.1', 'run', 'execute_tool', 'blocked'],
      ['guard-1', 'tool-1.1', 'guard', 'blocked'],
      ['chat-2', 'run', 'chat', 'ok']
    ]);
    expect(payload.totals.blocked).toBe(1);
  });

  it('fills what a minimal payload leaves out', () => {
    const payload = readPayload({ version: 1, spans: [{ id: 'run' }] });
    expect(payload.spans[0]).toEqual({
      id: 'run',
      parent_id: null,
      kind: '',
      name: '',
      step: null,
      start: 0,
      duration: 0,
      status: 'ok',
      attributes: {},
      events: []
    });
    expect(payload.totals.cost).toBeNull();
  });

  it('refuses what it cannot draw, saying what to do', () => {
    expect(() => readPayload('text')).toThrow(PayloadError);
    expect(() => readPayload({ spans: [] })).toThrow('The trace payload has no version.');
    expect(() => readPayload({ version: 1 })).toThrow('no list of spans');
    expect(() => readPayload({ version: 2, spans: [] })).toThrow(
      'This trace has payload version 2; this extension draws version 1. Upgrade agentnb ' +
        '(pip install -U agentnb) and reload the page.'
    );
  });
});
