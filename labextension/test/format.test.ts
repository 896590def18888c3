import { describe, expect, it } from 'vitest';

import {
  clip,
  formatAgo,
  formatCost,
  formatCount,
  formatDuration,
  formatTokens,
  prettyJson,
  showValue
} from '../src/format';

describe('format', () => {
  it('writes durations in the unit that reads best', () => {
    expect([0, 0.00042, 0.0042, 0.042, 0.42, 1.5, 12.25, 95, -1, NaN].map(formatDuration)).toEqual([
      '0 ms',
      '0.42 ms',
      '4.2 ms',
      '42 ms',
      '420 ms',
      '1.50 s',
      '12.3 s',
      '1 min 35 s',
      '–',
      '–'
    ]);
  });

  it('writes costs in dollars, unknown as a dash', () => {
    expect([null, undefined, 0, 0.000123, 0.5, 12].map(formatCost)).toEqual([
      '–',
      '–',
      '$0',
      '$0.00012',
      '$0.50',
      '$12.00'
    ]);
  });

  it('shortens large counts', () => {
    expect([950, 1234, 12_345, 2_500_000].map(formatCount)).toEqual(['950', '1.2k', '12k', '2.5M']);
    expect(formatTokens(34, 11)).toBe('34 → 11 tok');
  });

  it('says how long ago', () => {
    const now = 1_000_000 * 1000;
    expect(
      [
        1_000_000 - 10,
        1_000_000 - 300,
        1_000_000 - 7200,
        1_000_000 - 86400,
        1_000_000 - 3 * 86400
      ].map(t => formatAgo(t, now))
    ).toEqual(['just now', '5 min ago', '2 h ago', 'yesterday', '3 days ago']);
  });

  it('clips text to one line', () => {
    expect(clip('a  b\nc', 10)).toBe('a b c');
    expect(clip('abcdefghijkl', 6)).toBe('abcde…');
  });

  it('pretty-prints JSON text and leaves other text alone', () => {
    expect(prettyJson('{"amount": 12.5}')).toBe('{\n  "amount": 12.5\n}');
    expect(prettyJson('not json')).toBe('not json');
    expect(showValue({ a: 1 })).toBe('{"a":1}');
    expect(showValue('text')).toBe('text');
  });
});
