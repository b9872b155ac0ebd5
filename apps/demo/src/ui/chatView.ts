/** Chat: the conversation, and a line to send to everyone or to the chosen participants. */
import { MAX_CHAT_LENGTH } from '@backchannel/protocol';

import type { DemoCall } from '../call/demoCall.js';
import type { ChatLine } from '../chat/chat.js';
import { h } from '../lib/dom.js';
import { clockTime } from '../lib/format.js';
import { audiencePicker, audienceText } from './audience.js';
import type { ErrorsView } from './errorsView.js';

export function chatView(demo: DemoCall, errors: ErrorsView): HTMLElement {
  const { chat, roster } = demo;
  const log = h('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const empty = h('li', { class: 'empty muted' }, 'No messages yet. Say hello.');
  log.append(empty);
  const to = audiencePicker(roster, 'chat-to');
  const input = h('input', { id: 'chat-input', type: 'text', placeholder: 'Write a message…', maxlength: MAX_CHAT_LENGTH, autocomplete: 'off', 'aria-label': 'Message' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');

  const add = (line: ChatLine): void => {
    empty.remove();
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(lineView(demo, line));
    if (atBottom || line.outgoing) log.scrollTop = log.scrollHeight;
  };
  chat.added.add(add);
  const receipts = new Map<number, HTMLElement>();
  chat.delivered.add((line) => {
    const mark = receipts.get(line.id);
    if (!mark) return;
    mark.textContent = '✓✓';
    mark.title = 'delivered to everyone it was sent to';
    mark.dataset.delivery = 'delivered';
  });

  const form = h(
    'form',
    {
      class: 'composer',
      on: {
        submit: (event) => {
          event.preventDefault();
          const text = input.value;
          if (!text.trim()) return;
          send.disabled = true;
          chat
            .send(text, to.value())
            .then(() => (input.value = ''))
            .catch((error: unknown) => errors.show('Could not send the message', error))
            .finally(() => {
              send.disabled = false;
              input.focus();
            });
        },
      },
    },
    h('label', { class: 'to' }, h('span', { class: 'muted small' }, 'To'), to.element),
    h('div', { class: 'composer-row' }, input, send),
  );

  return h(
    'section',
    { class: 'panel chat-panel', 'aria-labelledby': 'chat-title' },
    h('h2', { id: 'chat-title' }, 'Chat'),
    log,
    form,
  );

  /** ✓ sent, ✓✓ delivered (delivery receipts, a Backchannel extension). */
  function receiptMark(line: ChatLine): HTMLElement {
    const delivered = line.delivery === 'delivered';
    const mark = h(
      'span',
      { class: 'receipt', data: { testid: 'receipt', delivery: line.delivery ?? 'sent' }, title: delivered ? 'delivered to everyone it was sent to' : 'sent' },
      delivered ? '✓✓' : '✓',
    );
    receipts.set(line.id, mark);
    return mark;
  }

  function lineView(call: DemoCall, line: ChatLine): HTMLElement {
    const audience = line.to === 'everyone' ? 'everyone' : 'private';
    return h(
      'li',
      { class: `chat-line ${line.outgoing ? 'outgoing' : ''} ${audience}`, data: { testid: 'chat-line', from: line.from, audience } },
      h(
        'div',
        { class: 'meta small' },
        h('strong', {}, call.roster.nameOf(line.from)),
        h('span', { class: 'muted' }, ` to ${audienceText(call.roster, line.to)} · ${clockTime(line.at)}`),
        audience === 'private' ? h('span', { class: 'tag' }, 'private') : null,
        line.outgoing ? receiptMark(line) : null,
      ),
      h('p', { class: 'text' }, line.text),
    );
  }
}
