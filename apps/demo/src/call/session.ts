/**
 * Joining: a demo token, a call agent with the display name and the group call (startDemoSession), then
 * waiting for Connected (connected). The two are apart so the page can listen for receivers in between:
 * data can arrive before the call reports Connected (state retained for late joiners does, at once), and a
 * receiver announced before anyone listens is not announced again.
 */
import {
  CallClient,
  CallError,
  CommunicationTokenCredential,
  Features,
  type Call,
  type CallAgent,
  type CallErrorCode,
  type DataChannelCallFeature,
  type ListenerErrorReporter,
} from '@backchannel/client';

import { fetchDemoToken } from './token.js';

export interface DemoSession {
  room: string;
  me: { identity: string; displayName: string };
  agent: CallAgent;
  call: Call;
  dataChannel: DataChannelCallFeature;
}

/**
 * Joins the group call; resolves as soon as the call exists, before it is Connected. Errors thrown by the
 * page's SDK event listeners go to `onListenerError`.
 */
export async function startDemoSession(room: string, displayName: string, onListenerError: ListenerErrorReporter): Promise<DemoSession> {
  const { identity, token } = await fetchDemoToken();
  // No serverUrl: in a page served by the Backchannel server the SDK uses the page's origin.
  const agent = await new CallClient({ onListenerError }).createCallAgent(new CommunicationTokenCredential(token), { displayName });
  try {
    const call = agent.join({ groupId: room });
    return { room, me: { identity, displayName }, agent, call, dataChannel: call.feature(Features.DataChannel) };
  } catch (error) {
    await agent.dispose();
    throw error;
  }
}

/** Resolves once the call is Connected; rejects with a CallError carrying `callEndReason` if it ends first. */
export function connected(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (call.state === 'Connected') {
        call.off('stateChanged', check);
        resolve();
      } else if (call.state === 'Disconnected') {
        call.off('stateChanged', check);
        const reason = call.callEndReason ?? { name: 'Unknown', message: 'the call ended' };
        // The name is the server's (or 'Unknown'), kept as it came, as the SDK keeps codes from the wire.
        reject(new CallError(reason.name as CallErrorCode, `could not join: ${reason.message}`));
      }
    };
    call.on('stateChanged', check);
    check();
  });
}
