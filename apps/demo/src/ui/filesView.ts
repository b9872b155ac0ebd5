/** File sharing: pick or drop files, choose who gets them, and follow every transfer both ways. */
import type { DemoCall } from '../call/demoCall.js';
import type { IncomingTransfer } from '../files/incoming.js';
import type { OutgoingTransfer } from '../files/outgoing.js';
import { h } from '../lib/dom.js';
import { audiencePicker } from './audience.js';
import type { ErrorsView } from './errorsView.js';
import { incomingView, outgoingView, type TransferView } from './transferView.js';

export function filesView(demo: DemoCall, errors: ErrorsView): HTMLElement {
  const { outgoing, incoming, roster } = demo;
  const to = audiencePicker(roster, 'files-to');
  const list = h('ul', { class: 'transfers', 'aria-label': 'File transfers' });
  const empty = h('li', { class: 'empty muted' }, 'No files yet.');
  list.append(empty);
  const views = new Map<OutgoingTransfer | IncomingTransfer, TransferView>();

  const share = (files: Iterable<File>): void => {
    const audience = to.value();
    const recipients = audience === 'everyone' ? roster.identities : audience;
    for (const file of files) {
      try {
        outgoing.share(file, recipients);
      } catch (error) {
        errors.show(`Could not share ${file.name}`, error);
      }
    }
  };

  const show = (transfer: OutgoingTransfer | IncomingTransfer, make: () => TransferView): void => {
    let view = views.get(transfer);
    if (!view) {
      view = make();
      views.set(transfer, view);
      empty.remove();
      list.prepend(view.element);
    }
    view.update();
  };
  outgoing.changed.add((t) => {
    show(t, () => outgoingView(t, roster, () => outgoing.cancel(t)));
    if (t.state === 'failed' && t.error) errors.showReport(`Could not send ${t.file.name}`, t.error);
  });
  incoming.changed.add((t) => {
    show(t, () => incomingView(t, roster, () => void incoming.cancel(t).catch((error: unknown) => errors.show('Could not tell the sender', error))));
    if (t.state === 'failed' && t.error) errors.showReport(`${t.name} did not arrive intact`, t.error);
  });
  incoming.problem.add((error) => errors.show('Unexpected data on the file channel', error));
  roster.changed.add(() => views.forEach((view) => view.update()));

  const input = h('input', {
    id: 'file-input',
    type: 'file',
    multiple: true,
    class: 'visually-hidden',
    on: {
      change: () => {
        share(input.files ?? []);
        input.value = '';
      },
    },
  });
  const drop = h(
    'div',
    {
      class: 'drop',
      on: {
        dragover: (event) => {
          event.preventDefault();
          drop.classList.add('over');
        },
        dragleave: () => drop.classList.remove('over'),
        drop: (event) => {
          event.preventDefault();
          drop.classList.remove('over');
          share(event.dataTransfer?.files ?? []);
        },
      },
    },
    input,
    h('label', { for: 'file-input', class: 'button primary' }, 'Share files'),
    h('span', { class: 'muted small' }, 'or drop them here · any size'),
  );

  return h(
    'section',
    { class: 'panel files-panel', 'aria-labelledby': 'files-title' },
    h('h2', { id: 'files-title' }, 'Files'),
    h('div', { class: 'share' }, drop, h('label', { class: 'to' }, h('span', { class: 'muted small' }, 'To'), to.element)),
    list,
  );
}
