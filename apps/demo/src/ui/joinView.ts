/** The first screen: a call name and a display name. Both are remembered for the next visit. */
import { h } from '../lib/dom.js';

export interface JoinRequest {
  room: string;
  displayName: string;
}

const NAME_KEY = 'backchannel-demo:name';

export function joinView(onJoin: (request: JoinRequest) => Promise<void>): HTMLElement {
  const room = h('input', {
    id: 'room',
    name: 'room',
    required: true,
    maxlength: 256,
    autocomplete: 'off',
    value: roomFromUrl() ?? randomRoom(),
  });
  const name = h('input', { id: 'display-name', name: 'displayName', required: true, maxlength: 64, autocomplete: 'nickname', value: storedName() });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Join call');
  const status = h('p', { class: 'muted join-status', role: 'status' });

  const form = h(
    'form',
    {
      class: 'card join',
      on: {
        submit: (event) => {
          event.preventDefault();
          const request = { room: room.value.trim(), displayName: name.value.trim() };
          if (!request.room || !request.displayName) return;
          rememberName(request.displayName);
          button.disabled = true;
          status.textContent = 'Connecting…';
          void onJoin(request).finally(() => {
            button.disabled = false;
            status.textContent = '';
          });
        },
      },
    },
    h('h2', {}, 'Join a call'),
    h('p', { class: 'muted' }, 'Everyone who joins the same call name is in one group call. Share the name, or the link once you are in.'),
    h('label', { for: 'room' }, 'Call name'),
    room,
    h('label', { for: 'display-name' }, 'Your name'),
    name,
    button,
    status,
  );
  queueMicrotask(() => (name.value ? room : name).focus());
  return h('main', { class: 'join-page' }, form);
}

/** `#<call name>` in the address, as the invite link has it. */
export function roomFromUrl(): string | undefined {
  const room = decodeURIComponent(location.hash.slice(1)).trim();
  return room || undefined;
}

function randomRoom(): string {
  const words = ['amber', 'brook', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'harbor', 'iris', 'juniper'];
  const pick = (): string => words[Math.floor(Math.random() * words.length)]!;
  return `${pick()}-${pick()}-${Math.floor(Math.random() * 90 + 10)}`;
}

function storedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberName(name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    // Storage may be off (private windows); the name is only a convenience.
  }
}
