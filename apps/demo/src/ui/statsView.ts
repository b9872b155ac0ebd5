/**
 * The inside view, two panels: the connection's state, and every data-channel receiver this page has (one
 * per remote sender session) with its channel, sender, last sequence number, messages and bytes.
 */
import type { DemoCall } from '../call/demoCall.js';
import { h } from '../lib/dom.js';
import { formatBytes } from '../lib/format.js';

/** At most this many table refreshes a second: a file arrives as hundreds of messages. */
const REFRESH_MS = 100;

export function statsView(demo: DemoCall): { connection: HTMLElement; receivers: HTMLElement } {
  const { session, stats, roster } = demo;
  const connection = h('dl', { class: 'connection', data: { testid: 'connection' } });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'receivers', data: { testid: 'receivers' } },
    h('thead', {}, h('tr', {}, ...['Channel', 'Sender', 'Last #', 'Msgs', 'Bytes', ''].map((title) => h('th', { scope: 'col' }, title)))),
    body,
  );
  const empty = h('p', { class: 'muted small' }, 'No receivers yet: one appears when someone sends to you.');

  const renderConnection = (): void => {
    const { call, agent } = session;
    const item = (term: string, value: string, testid?: string): HTMLElement[] => [
      h('dt', {}, term),
      h('dd', { data: testid ? { testid } : {} }, value),
    ];
    connection.replaceChildren(
      ...item('Call', call.state, 'call-state'),
      ...item('Signaling', agent.connectionState),
      ...item('Call name', session.room),
      ...item('Call id', call.id || '…'),
    );
  };

  let scheduled: ReturnType<typeof setTimeout> | undefined;
  const renderReceivers = (): void => {
    scheduled = undefined;
    empty.hidden = stats.rows.length > 0;
    table.hidden = stats.rows.length === 0;
    body.replaceChildren(
      ...stats.rows.map((row) =>
        h(
          'tr',
          { class: row.closed ? 'closed' : '', data: { testid: 'receiver-row', channel: row.channelId, sender: row.sender } },
          h('td', {}, String(row.channelId)),
          h('td', { class: 'sender' }, roster.nameOf(row.sender)),
          h('td', { class: 'num' }, row.lastSequenceNumber === undefined ? '–' : String(row.lastSequenceNumber)),
          h('td', { class: 'num' }, String(row.messages)),
          h('td', { class: 'num' }, formatBytes(row.bytes)),
          h('td', {}, h('span', { class: `dot ${row.closed ? 'closed' : 'open'}`, title: row.closed ? 'closed' : 'open', 'aria-label': row.closed ? 'closed' : 'open' })),
        ),
      ),
    );
  };
  const scheduleReceivers = (): void => {
    scheduled ??= setTimeout(renderReceivers, REFRESH_MS);
  };
  stats.changed.add(scheduleReceivers);
  roster.changed.add(scheduleReceivers);
  demo.connectionChanged.add(renderConnection);
  demo.ended.add(() => clearTimeout(scheduled));
  renderConnection();
  renderReceivers();

  return {
    connection: h('section', { class: 'panel connection-panel', 'aria-labelledby': 'connection-title' }, h('h2', { id: 'connection-title' }, 'Connection'), connection),
    receivers: h(
      'section',
      { class: 'panel receivers-panel', 'aria-labelledby': 'receivers-title' },
      h('h2', { id: 'receivers-title' }, 'Receivers'),
      h('div', { class: 'table-wrap' }, table, empty),
    ),
  };
}
