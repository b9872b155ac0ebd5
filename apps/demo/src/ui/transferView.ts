/** One file transfer, either way: name, size, who, state, progress, and what the user can do with it. */
import type { Roster } from '../call/roster.js';
import type { IncomingTransfer } from '../files/incoming.js';
import type { OutgoingTransfer } from '../files/outgoing.js';
import { h } from '../lib/dom.js';
import { formatBytes } from '../lib/format.js';
import { audienceText } from './audience.js';
import { progressBar } from './progressBar.js';

export interface TransferView {
  readonly element: HTMLElement;
  update(): void;
}

const OUT_STATES: Record<OutgoingTransfer['state'], string> = {
  queued: 'waiting to send',
  sending: 'sending',
  sent: 'sent',
  cancelled: 'cancelled',
  failed: 'failed',
};

const IN_STATES: Record<IncomingTransfer['state'], string> = {
  receiving: 'receiving',
  verifying: 'checking SHA-256…',
  complete: 'received · SHA-256 verified',
  cancelled: 'cancelled',
  failed: 'failed',
};

export function outgoingView(transfer: OutgoingTransfer, roster: Roster, cancel: () => void): TransferView {
  const bar = progressBar(`Sending ${transfer.file.name}`);
  const status = h('span', { class: 'status small' });
  const problem = h('p', { class: 'problem small' });
  const cancelButton = h('button', { type: 'button', class: 'ghost small', on: { click: cancel } }, 'Cancel');
  const element = h(
    'li',
    { class: 'transfer outgoing', data: { testid: 'transfer', direction: 'out', name: transfer.file.name } },
    h('span', { class: 'direction', title: 'Sending', 'aria-hidden': 'true' }, '↑'),
    h('div', { class: 'transfer-body' }, header(transfer.file.name, transfer.file.size), status, bar.element, problem),
    h('div', { class: 'actions' }, cancelButton),
  );
  const update = (): void => {
    element.dataset.state = transfer.state;
    const declined = transfer.declined.length > 0 ? ` · declined by ${audienceText(roster, transfer.declined)}` : '';
    status.textContent = `to ${audienceText(roster, transfer.recipients.length > 0 ? transfer.recipients : transfer.declined)} · ${OUT_STATES[transfer.state]}${declined}`;
    bar.set(transfer.sentBytes, transfer.file.size);
    cancelButton.hidden = transfer.state !== 'queued' && transfer.state !== 'sending';
    problem.textContent = transfer.error && transfer.state === 'failed' ? errorText(transfer.error) : '';
  };
  update();
  return { element, update };
}

export function incomingView(transfer: IncomingTransfer, roster: Roster, cancel: () => void): TransferView {
  const bar = progressBar(`Receiving ${transfer.name}`);
  const status = h('span', { class: 'status small' });
  const problem = h('p', { class: 'problem small' });
  const cancelButton = h('button', { type: 'button', class: 'ghost small', on: { click: cancel } }, 'Decline');
  const save = h('a', { class: 'button small', download: transfer.name, hidden: true }, 'Save');
  const element = h(
    'li',
    { class: 'transfer incoming', data: { testid: 'transfer', direction: 'in', name: transfer.name } },
    h('span', { class: 'direction', title: 'Receiving', 'aria-hidden': 'true' }, '↓'),
    h('div', { class: 'transfer-body' }, header(transfer.name, transfer.size), status, bar.element, problem),
    h('div', { class: 'actions' }, cancelButton, save),
  );
  const update = (): void => {
    element.dataset.state = transfer.state;
    status.textContent = `from ${roster.nameOf(transfer.from)} · ${IN_STATES[transfer.state]}`;
    if (transfer.digest) status.title = `SHA-256 hash list ${transfer.digest}`;
    bar.set(transfer.receivedBytes, transfer.size);
    cancelButton.hidden = transfer.state !== 'receiving';
    if (transfer.url) {
      save.href = transfer.url;
      save.hidden = false;
    }
    problem.textContent = transfer.error && transfer.state === 'failed' ? errorText(transfer.error) : '';
  };
  update();
  return { element, update };
}

function header(name: string, size: number): HTMLElement {
  return h('div', { class: 'transfer-head' }, h('span', { class: 'file-name', title: name }, name), h('span', { class: 'muted small' }, formatBytes(size)));
}

function errorText(error: { code: string | undefined; message: string }): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
