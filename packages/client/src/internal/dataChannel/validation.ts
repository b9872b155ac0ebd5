/** Argument checks of the data-channel API: each failure is an `InvalidArgument` DataChannelError. */
import { LONE_SURROGATE, MAX_CHANNEL_ID, MAX_IDENTITY_BYTES } from '@backchannel/protocol';

import type { DataChannelSenderOpenOptions } from '../../dataChannel/types.js';
import { invalidArgument } from '../../errors.js';
import { foreignIdentifierKind, type CommunicationUserIdentifier } from '../../identifiers.js';
import type { DataLink } from './DataLink.js';

const utf8 = new TextEncoder();

/** Returns the distinct identity ids of `participants`, or throws. */
export function validateParticipants(participants: unknown, link: DataLink): string[] {
  if (!Array.isArray(participants)) throw invalidArgument('participants must be an array of { communicationUserId }');
  const ids = new Set<string>();
  for (const participant of participants as unknown[]) {
    const kind = foreignIdentifierKind(participant);
    if (kind !== undefined) {
      throw invalidArgument(`a ${kind} identifier cannot be a recipient: Backchannel serves communicationUser identifiers ({ communicationUserId }) only`);
    }
    const id = (participant as Partial<CommunicationUserIdentifier> | null)?.communicationUserId;
    if (typeof id !== 'string' || id.length === 0 || LONE_SURROGATE.test(id) || utf8.encode(id).byteLength > MAX_IDENTITY_BYTES) {
      throw invalidArgument(`each participant needs a communicationUserId of 1–${MAX_IDENTITY_BYTES} bytes`);
    }
    ids.add(id);
  }
  const max = link.limits.maxRecipients;
  if (ids.size > max) throw invalidArgument(`at most ${max} recipients per sender, got ${ids.size}`);
  let endpoints = 0;
  for (const id of ids) endpoints += link.endpointCountOf(id);
  if (endpoints > max) throw invalidArgument(`the ${ids.size} recipients have ${endpoints} endpoints in the call; at most ${max} allowed`);
  return [...ids];
}

export function validateChannelId(channelId: unknown): number {
  if (channelId === undefined || channelId === 0) return 0;
  if (typeof channelId !== 'number' || !Number.isInteger(channelId) || channelId < 0 || channelId > MAX_CHANNEL_ID) {
    throw invalidArgument(`channelId must be an integer from 1 to ${MAX_CHANNEL_ID} (or 0 to pick one), got ${String(channelId)}`);
  }
  return channelId;
}

export function validateSenderOptions(options: DataChannelSenderOpenOptions | undefined): Required<Omit<DataChannelSenderOpenOptions, 'participants' | 'bitrateInKbps'>> & {
  bitrateInKbps: number | undefined;
  participants: unknown;
} {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgument('options must be an object');
  const { channelId, bitrateInKbps, participants = [], priority = 'Normal', reliability = 'Durable', retain = 'none', receipts = false } = options ?? {};
  if (priority !== 'High' && priority !== 'Normal') throw invalidArgument(`priority must be 'High' or 'Normal', got ${String(priority)}`);
  if (reliability !== 'Durable' && reliability !== 'Lossy') throw invalidArgument(`reliability must be 'Durable' or 'Lossy', got ${String(reliability)}`);
  if (retain !== 'none' && retain !== 'last') throw invalidArgument(`retain must be 'none' or 'last', got ${String(retain)}`);
  if (retain === 'last' && reliability !== 'Durable') throw invalidArgument("retain: 'last' needs a Durable sender: a Lossy message may never arrive, so it cannot be the state later recipients start from");
  if (typeof receipts !== 'boolean') throw invalidArgument(`receipts must be true or false, got ${String(receipts)}`);
  if (receipts && reliability !== 'Durable') throw invalidArgument('receipts need a Durable sender: only Durable messages are acknowledged');
  if (bitrateInKbps !== undefined && (typeof bitrateInKbps !== 'number' || !Number.isFinite(bitrateInKbps) || bitrateInKbps < 0)) {
    throw invalidArgument(`bitrateInKbps must be a non-negative number, got ${String(bitrateInKbps)}`);
  }
  return { channelId: validateChannelId(channelId), bitrateInKbps: bitrateInKbps || undefined, participants, priority, reliability, retain, receipts };
}
