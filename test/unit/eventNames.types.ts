/**
 * Type-level test, checked by `npm run typecheck` (tsc over test/): event names are checked by the compiler.
 * Every line marked `@ts-expect-error` must fail to compile; if one compiled, tsc would report the unused
 * directive and the typecheck would fail. Nothing here runs.
 */
import type {
  Call,
  CallAgent,
  DataChannelCallFeature,
  DataChannelReceiver,
  DataChannelSender,
  IncomingCall,
  IncomingStream,
  StreamReceiver,
} from '@backchannel/client';

import { until, waitForEvent } from '../helpers/events.js';

export function misspeltEventNamesDoNotCompile(
  call: Call,
  agent: CallAgent,
  feature: DataChannelCallFeature,
  receiver: DataChannelReceiver,
  sender: DataChannelSender,
  incoming: IncomingCall,
  streams: StreamReceiver,
  stream: IncomingStream,
): void {
  const listener = (): void => undefined;

  call.on('stateChanged', listener);
  // @ts-expect-error — 'stateChange' is not an event of Call
  call.on('stateChange', listener);
  // @ts-expect-error — 'remoteParticipantUpdated' is not an event of Call
  call.off('remoteParticipantUpdated', listener);

  receiver.on('messageReady', listener);
  // @ts-expect-error — 'mesageReady' is not an event of DataChannelReceiver
  receiver.on('mesageReady', listener);
  // @ts-expect-error — 'closed' is not an event of DataChannelReceiver (it is 'close')
  receiver.once('closed', listener);

  feature.on('dataChannelReceiverCreated', (created: DataChannelReceiver) => void created.readMessage());
  // @ts-expect-error — 'receiverCreated' is not an event of DataChannelCallFeature
  feature.on('receiverCreated', listener);
  // @ts-expect-error — a listener of the wrong shape: the event carries a DataChannelReceiver
  feature.on('dataChannelReceiverCreated', (count: number) => void count);

  sender.on('messageDropped', ({ sequenceNumber }) => void sequenceNumber);
  // @ts-expect-error — 'messageDrop' is not an event of DataChannelSender
  sender.on('messageDrop', listener);

  agent.on('incomingCall', ({ incomingCall }) => void incomingCall.accept());
  // @ts-expect-error — 'incomingCalls' is not an event of CallAgent
  agent.on('incomingCalls', listener);

  incoming.on('callEnded', ({ callEndReason }) => void callEndReason.code);
  // @ts-expect-error — 'ended' is not an event of IncomingCall
  incoming.on('ended', listener);

  streams.on('stream', (arriving: IncomingStream) => void arriving.id);
  // @ts-expect-error — 'strem' is not an event of StreamReceiver
  streams.on('strem', listener);
  stream.on('progress', ({ bytes }) => void bytes);
  // @ts-expect-error — 'progres' is not an event of IncomingStream
  stream.on('progres', listener);

  // The test helpers are typed the same way.
  void waitForEvent(call, 'stateChanged');
  // @ts-expect-error — 'stateChange' is not an event of Call
  void waitForEvent(call, 'stateChange');
  void until(receiver, 'messageReady', () => true);
  // @ts-expect-error — 'mesageReady' is not an event of DataChannelReceiver
  void until(receiver, 'mesageReady', () => true);
  void waitForEvent(agent, 'incomingCall').then(([event]) => event.incomingCall.accept());
}
