/** Joining: a demo token, a call agent with the display name, the group call, and waiting for Connected. */
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
 * Resolves once the call is Connected; rejects with a CallError carrying `callEndReason` if it ends first.
 * Errors thrown by the page's SDK event listeners go to `onListenerError`.
 */
export async function joinDemoCall(room: string, displayName: string, onListenerError: ListenerErrorReporter): Promise<DemoSession> {
  const { identity, token } = await fetchDemoToken();
  // No serverUrl: in a page served by the Backchannel server the SDK uses the page's origin.
  const agent = await new CallClient({ onListenerError }).createCallAgent(new CommunicationTokenCredential(token), { displayName });
  try {
    const call = agent.join({ groupId: room });
    await connected(call);
    return { room, me: { identity, displayName }, agent, call, dataChannel: call.feature(Features.DataChannel) };
  } catch (error) {
    await agent.dispose();
    throw error;
  }
}

function connected(call: Call): Promise<void> {
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
