/**
 * The MIME renderer extension: every cell output carrying `application/vnd.agentnb.trace+json`
 * is drawn as an interactive trace. Front ends without this extension show the bundle's
 * `text/html` instead.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { MIME_TYPE } from './payload';
import { TraceWidget } from './widget';

/** Makes a `TraceWidget` per output. Safe: it builds DOM from text, never from HTML. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: 40,
  createRenderer: () => new TraceWidget()
};

const extension: IRenderMime.IExtension = {
  id: 'agentnb:trace-renderer',
  description: 'Draws agentnb run traces: spans, timing, tokens, cost and guard verdicts.',
  rendererFactory,
  // Below text/html's 50: JupyterLab prefers the interactive trace over the static fallback.
  rank: 40,
  dataType: 'json'
};

export default extension;
