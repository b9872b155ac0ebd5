/** The in-call screen: a bar with the call and its state, then participants, chat, files and the stats panel. */
import type { DemoCall } from '../call/demoCall.js';
import { h } from '../lib/dom.js';
import { chatView } from './chatView.js';
import { counterView } from './counterView.js';
import type { ErrorsView } from './errorsView.js';
import { filesView } from './filesView.js';
import { participantsView } from './participantsView.js';
import { statsView } from './statsView.js';

export function callView(demo: DemoCall, errors: ErrorsView): { bar: HTMLElement; main: HTMLElement } {
  const { session } = demo;
  const state = h('span', { class: 'state', data: { testid: 'state' } });
  const renderState = (): void => {
    state.textContent = session.call.state;
    state.dataset.state = session.call.state;
  };
  demo.connectionChanged.add(renderState);
  renderState();

  const invite = h(
    'button',
    {
      type: 'button',
      class: 'ghost',
      title: 'Copy a link to this call',
      on: {
        click: () => {
          const url = `${location.origin}${location.pathname}#${encodeURIComponent(session.room)}`;
          // The clipboard API exists only in secure contexts; elsewhere the link is offered to copy by hand.
          if (!window.isSecureContext) return void window.prompt('Copy this link', url);
          navigator.clipboard
            .writeText(url)
            .then(() => (invite.textContent = 'Link copied'))
            .catch(() => window.prompt('Copy this link', url));
        },
      },
    },
    'Invite',
  );
  const leave = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      on: {
        click: () => {
          leave.disabled = true;
          demo.leave().catch((error: unknown) => errors.show('Could not leave cleanly', error));
        },
      },
    },
    'Leave',
  );

  const bar = h(
    'div',
    { class: 'call-bar' },
    h('div', { class: 'call-title' }, h('span', { class: 'room', title: 'Call name' }, session.room), state),
    h('div', { class: 'call-actions' }, invite, leave),
  );
  const stats = statsView(demo);
  const main = h(
    'main',
    { class: 'call-grid' },
    participantsView(demo),
    chatView(demo, errors),
    counterView(demo, errors),
    filesView(demo, errors),
    stats.connection,
    stats.receivers,
  );
  return { bar, main };
}
