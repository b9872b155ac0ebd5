/**
 * A client worker process: hosts participants of the systems under test and does what the orchestrator
 * asks over IPC (join, link, send on schedule, report what arrived, leave). Started by bench/fleet/Workers.ts.
 */
import { acquireRtcRuntime } from '@backchannel/node-rtc';

import { backchannelCredentials, joinBackchannel, type BackchannelCredentials } from './backchannelParticipant.js';
import type { JoinResult, SignalEnvelope, WorkerCommand, WorkerReply, WorkerRequest } from './messages.js';
import { runStreams } from './pacer.js';
import type { Participant, ParticipantHooks } from './participant.js';
import { clockMs, encodeProbe } from './probe.js';
import { RawParticipant } from './rawParticipant.js';
import { WindowRecorder } from './recorder.js';
import { joinRelay } from './relayParticipant.js';
import { joinSocketIo } from './socketioParticipant.js';
import { joinWs } from './wsParticipant.js';

/**
 * This process joins and leaves hundreds of times, and between joins its last peer connection may close:
 * the SDK's runtime counter would then call node-datachannel's cleanup() 50 ms later and the next join would
 * start the runtime again. A worker crashed (SIGSEGV) in that join/leave churn before this reference was
 * held (cause not isolated, see docs/benchmarks.md); a long-lived client holds the runtime for its lifetime.
 */
acquireRtcRuntime();

const participants = new Map<string, Participant>();
/** Backchannel credentials made ahead of a timed join, by participant key. */
const prepared = new Map<string, BackchannelCredentials>();
const recorder = new WindowRecorder();
const refusals = { count: 0 };
const hooks: ParticipantHooks = {
  onPayload: (bytes) => recorder.onPayload(bytes),
  onRefused: () => void refusals.count++,
};

function send(message: WorkerReply | SignalEnvelope | { type: 'ready' }): void {
  // After the orchestrator is gone a send would raise an error event; the disconnect handler exits anyway.
  if (process.connected) process.send?.(message);
}

function participant(key: string): Participant {
  const found = participants.get(key);
  if (!found) throw new Error(`no participant '${key}' in worker ${process.pid}`);
  return found;
}

function raw(key: string): RawParticipant {
  const found = participant(key);
  if (!(found instanceof RawParticipant)) throw new Error(`'${key}' is not a raw node-datachannel participant`);
  return found;
}

/** Signaling for a raw participant: local peers directly, others through the orchestrator. */
function relaySignal(envelope: SignalEnvelope): void {
  const local = participants.get(envelope.to);
  if (local instanceof RawParticipant) setImmediate(() => local.onSignal(envelope));
  else send(envelope);
}

async function join(command: Extract<WorkerCommand, { type: 'join' }>): Promise<JoinResult> {
  const { endpoint, room, key } = command;
  // Credentials are made before the clock starts: a join is measured from the client's first move.
  const credentials = endpoint.system === 'backchannel' ? (prepared.get(key) ?? (await backchannelCredentials(endpoint.url, endpoint.accessKey))) : undefined;
  prepared.delete(key);
  const startedAt = clockMs();
  let joined: Participant;
  switch (endpoint.system) {
    case 'backchannel':
      joined = await joinBackchannel(endpoint.url, credentials!, room, key, hooks);
      break;
    case 'socketio':
      joined = await joinSocketIo(endpoint.url, room, key, hooks);
      break;
    case 'ws':
      joined = await joinWs(endpoint.url, room, key, hooks);
      break;
    case 'relay':
      joined = await joinRelay(endpoint.url, room, key, hooks);
      break;
    case 'raw': {
      const peer = new RawParticipant(key, hooks, relaySignal);
      participants.set(key, peer);
      await Promise.all((command.links ?? []).map((remote) => peer.link(remote)));
      joined = peer;
      break;
    }
  }
  participants.set(key, joined);
  const readyMs = clockMs() - startedAt;
  if (command.announce) joined.send(encodeProbe(64, startedAt, command.announce.windowId, 0), [command.announce.to]);
  return { address: joined.address, readyMs };
}

async function handle(command: WorkerCommand): Promise<unknown> {
  switch (command.type) {
    case 'join':
      return join(command);
    case 'prepare':
      if (command.endpoint.system === 'backchannel') prepared.set(command.key, await backchannelCredentials(command.endpoint.url, command.endpoint.accessKey));
      return null;
    case 'link':
      await Promise.all(command.remoteKeys.map((remote) => raw(command.key).link(remote)));
      return null;
    case 'relay':
      raw(command.key).relay(command.groups);
      return null;
    case 'send':
      return runStreams(
        {
          streams: command.streams.map((spec) => ({ spec, participant: participant(spec.key) })),
          size: command.size,
          ratePerStream: command.ratePerStream,
          durationMs: command.durationMs,
          windowId: command.windowId,
        },
        refusals,
      );
    case 'window':
      recorder.begin(command.windowId);
      return null;
    case 'count':
      return recorder.received;
    case 'collect':
      return recorder.report();
    case 'leave':
      await Promise.all(
        command.keys.map(async (key) => {
          const leaving = participants.get(key);
          participants.delete(key);
          await leaving?.close();
        }),
      );
      return null;
    case 'rss':
      return process.memoryUsage.rss();
  }
}

process.on('message', (message: WorkerRequest | SignalEnvelope) => {
  if ('type' in message && message.type === 'signal') {
    const target = participants.get(message.to);
    if (target instanceof RawParticipant) target.onSignal(message);
    return;
  }
  const request = message as WorkerRequest;
  handle(request.command).then(
    (result) => send({ id: request.id, ok: true, result: result ?? null }),
    (error: unknown) => send({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});

// The orchestrator closing the IPC channel means the run is over: leave everything and exit.
process.on('disconnect', () => {
  void Promise.allSettled([...participants.values()].map((p) => p.close())).then(() => setTimeout(() => process.exit(0), 200));
});

send({ type: 'ready' });
