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
 * through `reply`, as the server would; of the server's frame types only BarrierAck passes (the answer to
 * ours), anything else a peer sends in the server's role is dropped.
 */
export function peerFrameAsDelivered(frame: Uint8Array, reply: (frame: Uint8Array) => void): Uint8Array | undefined {
  // The peer is not a server: of the server's frames it may only acknowledge our barriers.
  if ((frame[0]! & SERVER_FRAME_BIT) !== 0) return frame[0] === FrameType.BarrierAck ? frame : undefined;
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
