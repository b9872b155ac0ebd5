/**
 * @backchannel/node-rtc — what the SDK's Node transport and the server share over node-datachannel, so that
 * both can run in one process (a test, a bot beside its server) and agree on the native runtime.
 */
export { acquireRtcRuntime, releaseRtcRuntime, rtcRuntimeReferences, shutdownRtcRuntime } from './runtime.js';
export { toLibDataChannelIceServers } from './iceServers.js';
