"""The display kit: plain, versioned payloads rendered as MIME bundles, with no IPython.

Objects hand the kit their payload (plotly's figure → dict → renderer pattern): a `RunResult` its
trace payload, a meta report its findings, the dashboard its frames. The kit never imports the
packages above it (`agents`, `meta`, `notebook`, `telemetry`), so any of them can display.

| module | renders |
|---|---|
| `html` | the shared pieces: badges, tables, texts with "show more", numbers, the stylesheet |
| `bundle` | `select` (the entries a front end asked for) and `redacted` (secrets out of payloads) |
| `trace` | the trace payload's schema: `TRACE_MIME`, `TRACE_VERSION`, span statuses |
| `trace_html` | a trace payload as self-contained HTML (`render_trace`) |
| `run` | `RunView`: a run's summary, trace HTML and trace payload as one MIME bundle |
| `verdicts` | guard verdicts as a table (HTML and text) |
| `figures` | plotly figures with a static SVG fallback (`figure_bundle`) |
| `timeline` | a trace payload as a plotly waterfall (`TraceFigure`) |
| `charts` | bar charts with a static SVG fallback (`ChartFigure`) |
| `dashboard` | the telemetry dashboard's charts and static HTML from its frames |

Importing this package imports none of its modules (and no plotly): import the module you need.
"""
