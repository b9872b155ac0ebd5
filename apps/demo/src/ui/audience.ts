/** The "Send to" choice shared by chat and files: everyone, or the participants ticked in the list. */
import type { Roster } from '../call/roster.js';
import { h } from '../lib/dom.js';

export interface AudiencePicker {
  readonly element: HTMLSelectElement;
  /** 'everyone', or the chosen identities still in the call. */
  value(): 'everyone' | string[];
}

export function audiencePicker(roster: Roster, id: string): AudiencePicker {
  const everyone = h('option', { value: 'everyone' }, 'Everyone');
  const chosen = h('option', { value: 'chosen' });
  const element = h('select', { id, class: 'audience', 'aria-label': 'Send to' }, everyone, chosen);
  const render = (): void => {
    const count = roster.selected.length;
    chosen.textContent = count === 0 ? 'Chosen people (tick them)' : `Chosen people (${count})`;
  };
  roster.changed.add(() => {
    render();
    // Ticking someone is a clear wish to send to them; unticking the last one goes back to everyone.
    element.value = roster.selected.length > 0 ? 'chosen' : 'everyone';
  });
  render();
  return { element, value: () => (element.value === 'everyone' ? 'everyone' : roster.selected) };
}

/** How a chat line or transfer was addressed, for people: "everyone", or "you and Bob". */
export function audienceText(roster: Roster, to: 'everyone' | string[]): string {
  if (to === 'everyone') return 'everyone';
  const names = to.map((identity) => (roster.isMe(identity) ? 'you' : roster.nameOf(identity)));
  return names.length <= 1 ? (names[0] ?? 'no one') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
