/**
 * Numbers and times as people read them. Pure functions, no DOM.
 */

/** `0.00042` → `"0.42 ms"`, `1.5` → `"1.50 s"`, `95` → `"1 min 35 s"`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) {
    return '–';
  }
  if (seconds === 0) {
    return '0 ms';
  }
  if (seconds < 0.001) {
    return `${(seconds * 1000).toFixed(2)} ms`;
  }
  if (seconds < 1) {
    const ms = seconds * 1000;
    return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** US dollars: `null` → `"–"`, `0` → `"$0"`, `0.000123` → `"$0.00012"`, `1.5` → `"$1.50"`. */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) {
    return '–';
  }
  if (usd === 0) {
    return '$0';
  }
  if (usd < 0.01) {
    return `$${usd.toPrecision(2)}`;
  }
  return `$${usd.toFixed(2)}`;
}

/** `950` → `"950"`, `12_345` → `"12.3k"`, `2_500_000` → `"2.5M"`. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) {
    return '–';
  }
  if (Math.abs(n) < 1000) {
    return String(Math.round(n));
  }
  if (Math.abs(n) < 1_000_000) {
    return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  }
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Input and output tokens: `"34 → 11 tok"`. */
export function formatTokens(input: number, output: number): string {
  return `${formatCount(input)} → ${formatCount(output)} tok`;
}

/** How long ago `unixSeconds` was, relative to `now` (ms since the epoch): `"3 min ago"`. */
export function formatAgo(unixSeconds: number, now: number = Date.now()): string {
  const seconds = Math.max(0, now / 1000 - unixSeconds);
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  const days = Math.round(seconds / 86400);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/** An ISO-like local time for tooltips: `"2026-11-25 17:44:08"`. */
export function formatTimestamp(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** `text` on one line, cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** JSON text pretty-printed (2 spaces); text that is not JSON comes back unchanged. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Any value as text for display: strings as they are, everything else as JSON. */
export function showValue(value: unknown, indent?: number): string {
  if (typeof value === 'string') {
    return value;
  }
  if (value === undefined) {
    return '';
  }
  return JSON.stringify(value, null, indent) ?? String(value);
}
