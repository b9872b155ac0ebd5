/** Errors on screen: what failed, the SDK's code, and its message, until the user dismisses them. */
import { h } from '../lib/dom.js';
import { describeError, type ErrorReport } from '../lib/errors.js';

const MAX_SHOWN = 4;

export class ErrorsView {
  readonly element = h('section', { class: 'errors', 'aria-live': 'assertive', 'aria-label': 'Errors' });

  /** Shows `error` under the heading `what` (e.g. "Could not send the message"). */
  show(what: string, error: unknown): void {
    this.showReport(what, describeError(error));
  }

  showReport(what: string, { code, message }: ErrorReport): void {
    const item = h(
      'div',
      { class: 'error', role: 'alert', data: { testid: 'error', code: code ?? '' } },
      h('div', { class: 'error-text' }, h('strong', {}, what), code ? h('code', {}, code) : null, h('span', {}, message)),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': 'Dismiss', title: 'Dismiss', on: { click: () => item.remove() } }, '×'),
    );
    this.element.append(item);
    while (this.element.children.length > MAX_SHOWN) this.element.firstElementChild?.remove();
  }

  clear(): void {
    this.element.replaceChildren();
  }
}
