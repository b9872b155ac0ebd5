/** The shared counter: its value and a button that adds one for everyone (state for late joiners). */
import type { DemoCall } from '../call/demoCall.js';
import { h } from '../lib/dom.js';
import type { ErrorsView } from './errorsView.js';

export function counterView(demo: DemoCall, errors: ErrorsView): HTMLElement {
  const { counter } = demo;
  const value = h('output', { class: 'counter-value', data: { testid: 'counter' }, 'aria-live': 'polite' }, String(counter.value));
  counter.changed.add((n) => (value.textContent = String(n)));
  const add = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      data: { testid: 'counter-add' },
      on: { click: () => counter.increment().catch((error: unknown) => errors.show('Could not update the counter', error)) },
    },
    '+1',
  );
  return h(
    'section',
    { class: 'panel counter-panel', 'aria-labelledby': 'counter-title' },
    h('h2', { id: 'counter-title' }, 'Shared counter'),
    h('p', { class: 'muted small' }, 'Everyone in the call sees the same count; a page that joins later shows it at once.'),
    h('div', { class: 'composer-row' }, value, add),
  );
}
