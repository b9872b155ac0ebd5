/** The demo page: the join screen, then the call screen, with errors shown above both. */
import './styles.css';

import { DemoCall } from './call/demoCall.js';
import { h } from './lib/dom.js';
import { callView } from './ui/callView.js';
import { ErrorsView } from './ui/errorsView.js';
import { joinView, type JoinRequest } from './ui/joinView.js';

const root = document.querySelector<HTMLElement>('#app')!;
const errors = new ErrorsView();

/** A throwing listener never breaks the SDK; it should not go unnoticed either. */
function reportListenerError(error: unknown, event: string): void {
  errors.show(`The page's '${event}' handler failed`, error);
}

function page(bar: HTMLElement | null, main: HTMLElement): void {
  const brand = h('a', { class: 'brand', href: './' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Backchannel', h('span', { class: 'muted' }, ' demo'));
  root.replaceChildren(h('header', { class: 'topbar' }, brand, bar), errors.element, main);
}

function showJoin(): void {
  page(null, joinView(join));
}

async function join(request: JoinRequest): Promise<void> {
  try {
    const demo = await DemoCall.join(request.room, request.displayName, reportListenerError);
    errors.clear();
    showCall(demo);
  } catch (error) {
    errors.show('Could not join the call', error);
  }
}

function showCall(demo: DemoCall): void {
  history.replaceState(null, '', `#${encodeURIComponent(demo.session.room)}`);
  document.title = `${demo.session.room} · Backchannel demo`;
  demo.ended.add((reason) => {
    if (reason.code !== 'HungUp') errors.showReport('The call ended', reason);
    document.title = 'Backchannel demo';
    showJoin();
  });
  const { bar, main } = callView(demo, errors);
  page(bar, main);
}

showJoin();
