/**
 * The trace payload of one agent run, as `agentnb.agents.trace.trace_payload` writes it (schema: `agentnb.display.trace`).
 *
 * A renderer checks `version` and ignores keys it does not know (the schema grows by adding).
 */

/** The MIME type of the payload in a run's display bundle (one constant for every module). */
export const MIME_TYPE = 'application/vnd.agentnb.trace+json';

/** The payload version this renderer draws. */
export const SUPPORTED_VERSION = 1;

/** What a span stands for (`gen_ai.operation.name`, plus agentnb's guard and monitor). */
export type SpanKind = 'invoke_agent' | 'chat' | 'execute_tool' | 'guard' | 'monitor';

/** A span's outcome; `blocked` means a guard stopped it. */
export type SpanStatus = 'ok' | 'warn' | 'error' | 'blocked' | 'cancelled';

/** A timed event on a span (retries, fallbacks, circuit-breaker transitions). */
export interface SpanEvent {
  name: string;
  time?: number;
  attributes?: Record<string, unknown>;
}

/** One span: a model call, a tool call, a guard verdict, a monitor finding or the run itself. */
export interface TraceSpan {
  id: string;
  parent_id: string | null;
  kind: SpanKind | string;
  name: string;
  /** The model turn (1-based); 0 for input guards; null for the root and monitors. */
  step: number | null;
  /** Seconds from the start of the run. */
  start: number;
  /** Seconds. */
  duration: number;
  status: SpanStatus | string;
  /** OpenTelemetry attribute names (GenAI conventions and `agentnb.*`); values may be JSON. */
  attributes: Record<string, unknown>;
  events?: SpanEvent[];
}

/** Counts over the whole run. */
export interface TraceTotals {
  steps: number;
  tool_calls: number;
  tool_errors: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** USD; null when a price is unknown. */
  cost: number | null;
  duration: number;
  verdicts: Record<string, number>;
  blocked: number;
  findings: number;
}

/** The whole payload (schema version 1). */
export interface TracePayload {
  version: number;
  run_id: string;
  agent: string;
  agent_version: string;
  model: string;
  status: string;
  error: string | null;
  error_type: string | null;
  prompt: string;
  output: unknown;
  /** Unix seconds. */
  started_at: number;
  duration: number;
  totals: TraceTotals;
  spans: TraceSpan[];
}

/** Raised by `readPayload` with a message saying what is wrong and what to do. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

/**
 * Check `data` (the JSON of a display bundle or of the REST API) and fill defaults.
 *
 * @throws PayloadError when `data` is not a trace payload or has a newer version.
 */
export function readPayload(data: unknown): TracePayload {
  if (!isObject(data)) {
    throw new PayloadError('The trace payload is not a JSON object.');
  }
  const version = num(data.version, NaN);
  if (!Number.isInteger(version)) {
    throw new PayloadError('The trace payload has no version.');
  }
  if (version > SUPPORTED_VERSION) {
    throw new PayloadError(
      `This trace has payload version ${version}; this extension draws version ` +
        `${SUPPORTED_VERSION}. Upgrade agentnb (pip install -U agentnb) and reload the page.`
    );
  }
  if (!Array.isArray(data.spans)) {
    throw new PayloadError('The trace payload has no list of spans.');
  }
  const spans: TraceSpan[] = data.spans.filter(isObject).map(s => ({
    id: str(s.id),
    parent_id: typeof s.parent_id === 'string' ? s.parent_id : null,
    kind: str(s.kind),
    name: str(s.name),
    step: typeof s.step === 'number' ? s.step : null,
    start: num(s.start),
    duration: num(s.duration),
    status: str(s.status, 'ok'),
    attributes: isObject(s.attributes) ? s.attributes : {},
    events: Array.isArray(s.events) ? (s.events.filter(isObject) as unknown as SpanEvent[]) : []
  }));
  const t = isObject(data.totals) ? data.totals : {};
  const totals: TraceTotals = {
    steps: num(t.steps),
    tool_calls: num(t.tool_calls),
    tool_errors: num(t.tool_errors),
    input_tokens: num(t.input_tokens),
    output_tokens: num(t.output_tokens),
    total_tokens: num(t.total_tokens, num(t.input_tokens) + num(t.output_tokens)),
    cost: typeof t.cost === 'number' ? t.cost : null,
    duration: num(t.duration, num(data.duration)),
    verdicts: isObject(t.verdicts) ? (t.verdicts as Record<string, number>) : {},
    blocked: num(t.blocked),
    findings: num(t.findings)
  };
  return {
    version,
    run_id: str(data.run_id),
    agent: str(data.agent),
    agent_version: str(data.agent_version),
    model: str(data.model),
    status: str(data.status, 'ok'),
    error: typeof data.error === 'string' ? data.error : null,
    error_type: typeof data.error_type === 'string' ? data.error_type : null,
    prompt: str(data.prompt),
    output: data.output ?? null,
    started_at: num(data.started_at),
    duration: num(data.duration),
    totals,
    spans
  };
}
