/**
 * The trace view as a Lumino widget: the MIME renderer of a cell output and the content of a
 * main-area tab opened from the sidebar. State lives here; drawing is `render.ts`.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { MIME_TYPE, PayloadError, TracePayload, readPayload } from './payload';
import { INITIAL_STATE, ViewState, actionOf, reduce, renderError, renderTrace } from './render';

/** Sent on `window` when a trace is shown, so the runs sidebar can refresh. */
export const TRACE_SHOWN_EVENT = 'agentnb:trace-shown';

/**
 * One run's trace: a cell output (as the MIME renderer) or a main-area tab (from the sidebar).
 * Clicks and keys change the view state; every change redraws from the payload.
 */
export class TraceWidget extends Widget implements IRenderMime.IRenderer {
  private payload: TracePayload | null = null;
  private state: ViewState = INITIAL_STATE;

  constructor() {
    super();
    this.addClass('anl-trace-widget');
    this.node.addEventListener('click', this.onClick);
    this.node.addEventListener('keydown', this.onKeyDown);
  }

  /** Show `data` (a trace payload as JSON), or say why it cannot be shown. */
  showTrace(data: unknown): void {
    try {
      this.payload = readPayload(data);
    } catch (error) {
      this.showError(error instanceof PayloadError ? error.message : String(error));
      return;
    }
    this.state = INITIAL_STATE;
    this.draw();
    window.dispatchEvent(new CustomEvent(TRACE_SHOWN_EVENT, { detail: this.payload.run_id }));
  }

  /** Show `message` instead of a trace. */
  showError(message: string): void {
    this.payload = null;
    this.node.replaceChildren(renderError(this.node.ownerDocument, message));
  }

  /** The payload shown (null before `show`, or when it was not a valid payload). */
  get trace(): TracePayload | null {
    return this.payload;
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.showTrace(model.data[MIME_TYPE]);
    return Promise.resolve();
  }

  override dispose(): void {
    this.node.removeEventListener('click', this.onClick);
    this.node.removeEventListener('keydown', this.onKeyDown);
    super.dispose();
  }

  private draw(focusId?: string): void {
    if (!this.payload) {
      return;
    }
    this.node.replaceChildren(renderTrace(this.node.ownerDocument, this.payload, this.state));
    if (focusId) {
      this.node
        .querySelector<HTMLElement>(`.anl-row[data-span-id="${CSS.escape(focusId)}"]`)
        ?.focus();
    }
  }

  private onClick = (event: MouseEvent): void => {
    if (!this.payload) {
      return;
    }
    const target = event.target as Element | null;
    // Clicks in the details (selecting arguments to copy) or that end a text selection in the
    // trace do not toggle anything.
    const selection = this.node.ownerDocument.getSelection();
    const selecting =
      !!selection && !selection.isCollapsed && this.node.contains(selection.anchorNode);
    if (target?.closest('.anl-details') || selecting) {
      return;
    }
    const action = actionOf(target, this.node);
    if (action) {
      event.stopPropagation();
      this.state = reduce(this.state, action, this.payload);
      this.draw('id' in action ? action.id : undefined);
    }
  };

  private onKeyDown = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement | null;
    if (!this.payload || !target?.classList.contains('anl-row')) {
      return;
    }
    const id = target.dataset.spanId ?? '';
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.state = reduce(this.state, { type: 'toggle-details', id }, this.payload);
      this.draw(id);
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      // Right shows a span's children, left hides them (as in a file tree).
      const expanded = !this.state.collapsed.has(id);
      if (target.querySelector('button.anl-caret') && expanded !== (event.key === 'ArrowRight')) {
        event.preventDefault();
        this.state = reduce(this.state, { type: 'toggle-children', id }, this.payload);
        this.draw(id);
      }
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const rows = Array.from(this.node.querySelectorAll<HTMLElement>('.anl-row[data-span-id]'));
      const next = rows[rows.indexOf(target) + (event.key === 'ArrowDown' ? 1 : -1)];
      next?.focus();
    }
  };
}
