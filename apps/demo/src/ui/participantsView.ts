/** The participant list, live: who is here, and checkboxes to choose recipients for chat and files. */
import type { DemoCall } from '../call/demoCall.js';
import { identityOf } from '../call/roster.js';
import { h } from '../lib/dom.js';
import { shortId } from '../lib/format.js';

export function participantsView(demo: DemoCall): HTMLElement {
  const { roster, session } = demo;
  const count = h('span', { class: 'count', data: { testid: 'participant-count' } });
  const list = h('ul', { class: 'participants', 'aria-label': 'Participants' });

  const render = (): void => {
    const others = roster.participants;
    count.textContent = String(others.length + 1);
    const me = h(
      'li',
      { class: 'participant me', data: { testid: 'me', identity: session.me.identity } },
      avatar(session.me.displayName),
      h('span', { class: 'who' }, h('span', { class: 'name' }, session.me.displayName), h('span', { class: 'muted small' }, `you · ${shortId(session.me.identity)}`)),
    );
    const rows = others.map((p) => {
      const identity = identityOf(p.identifier);
      const id = `pick-${p.endpointId}`;
      return h(
        'li',
        { class: 'participant', data: { testid: 'participant', identity, endpoint: p.endpointId } },
        avatar(p.displayName || identity),
        h('label', { class: 'who', for: id }, h('span', { class: 'name' }, roster.nameOf(identity)), h('span', { class: 'muted small' }, shortId(identity))),
        h('input', {
          type: 'checkbox',
          id,
          class: 'pick',
          title: 'Send my messages and files to this person',
          'aria-label': `Choose ${roster.nameOf(identity)} as a recipient`,
          checked: roster.isSelected(identity),
          on: { change: (event) => roster.setSelected(identity, (event.target as HTMLInputElement).checked) },
        }),
      );
    });
    const empty = others.length === 0 ? h('li', { class: 'empty muted' }, 'No one else yet. Share the invite link.') : null;
    list.replaceChildren(me, ...rows, ...(empty ? [empty] : []));
  };
  roster.changed.add(render);
  render();

  return h(
    'section',
    { class: 'panel participants-panel', 'aria-labelledby': 'participants-title' },
    h('h2', { id: 'participants-title' }, 'Participants ', count),
    h('p', { class: 'muted small hint' }, 'Tick people to send only to them.'),
    list,
  );
}

function avatar(name: string): HTMLElement {
  const initials = name.trim().split(/\s+/).slice(0, 2).map((w) => w[0]?.toUpperCase() ?? '').join('') || '?';
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return h('span', { class: 'avatar', style: `--hue: ${hash % 360}`, 'aria-hidden': 'true' }, initials);
}
