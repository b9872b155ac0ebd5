/**
 * In a 1:1 call there is no server between the parties: each side's SDK sends the client frames it always
 * sends (Send, SetRecipients, SessionClose), and the receiving SDK turns them into the frames a server would
 * have delivered, stamped with the remote party's endpoint id. Recipient lists need no routing (the
 * recipient is the remote party) and are dropped here.
 */
import { FrameError, FrameType, decodeClientFrame, encodeBarrierAck, encodeSessionClosed, rewriteSendAsDeliver } from '@backchannel/protocol';

/** Server frame types have the high bit set. */
const SERVER_FRAME_BIT = 0x80;

/** The endpoint id a 1:1 call's receivers see for the remote party. */
export const REMOTE_PEER_ENDPOINT_ID = 1;

/**
 * The frame as the engine expects it, or undefined when there is nothing to deliver. A Barrier is answered
 * through `reply`, as the server would; frames the peer sends in the server's role (BarrierAck) pass as they are.
 */
export function peerFrameAsDelivered(frame: Uint8Array, reply: (frame: Uint8Array) => void): Uint8Array | undefined {
  if ((frame[0]! & SERVER_FRAME_BIT) !== 0) return frame;
  let decoded;
  try {
    decoded = decodeClientFrame(frame);
  } catch (error) {
    if (error instanceof FrameError) return frame; // the engine counts it as malformed
    throw error;
  }
  switch (decoded.type) {
    case FrameType.Send:
      return rewriteSendAsDeliver(frame, REMOTE_PEER_ENDPOINT_ID);
    case FrameType.SessionClose:
      return encodeSessionClosed(decoded.channelId, decoded.sessionId, REMOTE_PEER_ENDPOINT_ID);
    case FrameType.SetRecipients:
      return undefined;
    case FrameType.Barrier:
      reply(encodeBarrierAck(decoded.token));
      return undefined;
  }
}
