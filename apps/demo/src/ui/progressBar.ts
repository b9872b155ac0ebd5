/** A labelled progress bar that screen readers and tests can read (`aria-valuenow`, `data-percent`). */
import { h } from '../lib/dom.js';
import { formatBytes, percent } from '../lib/format.js';

export interface ProgressBar {
  readonly element: HTMLElement;
  set(done: number, total: number): void;
}

export function progressBar(label: string): ProgressBar {
  const fill = h('div', { class: 'fill' });
  const bar = h('div', { class: 'bar', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100' }, fill);
  const text = h('span', { class: 'progress-text small muted' });
  const element = h('div', { class: 'progress' }, bar, text);
  return {
    element,
    set(done, total) {
      const value = percent(done, total);
      fill.style.width = `${value}%`;
      bar.setAttribute('aria-valuenow', String(value));
      element.dataset.percent = String(value);
      text.textContent = `${value}% · ${formatBytes(done)} of ${formatBytes(total)}`;
    },
  };
}
