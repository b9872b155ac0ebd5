/**
 * ICE candidate lines (RFC 8839 §5.1) as the relays read and rewrite them: no I/O, unit-tested alone.
 *
 *   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [extensions]
 *
 * with or without the `a=` prefix (libdatachannel sends it in trickled candidates too).
 */

export interface CandidateAddress {
  transport: string;
  address: string;
  port: number;
  type: string;
}

const CANDIDATE = /^(a=)?candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$/;

/** The transport, address, port and type of a candidate line; undefined if it is not one. */
export function parseCandidate(line: string): CandidateAddress | undefined {
  const match = CANDIDATE.exec(line.trim());
  if (!match) return undefined;
  return { transport: match[4]!.toLowerCase(), address: match[6]!, port: Number(match[7]), type: match[8]! };
}

/** A UDP host candidate on IPv4 loopback: the only server candidates the relays let through. */
export function isLoopbackUdpHost(candidate: CandidateAddress): boolean {
  return candidate.transport === 'udp' && candidate.type === 'host' && /^127\.\d+\.\d+\.\d+$/.test(candidate.address);
}

/**
 * A UDP host candidate on any IPv4 address: what a 1:1 call's parties gather (not loopback: libjuice skips
 * it), kept and pointed at a relay. Everything else (mDNS `.local` names, IPv6, TCP, server-reflexive and
 * relayed candidates) is dropped, so that no path bypasses the relays.
 */
export function isIpv4UdpHost(candidate: CandidateAddress): boolean {
  return candidate.transport === 'udp' && candidate.type === 'host' && /^\d+\.\d+\.\d+\.\d+$/.test(candidate.address);
}

/** The same candidate line with another address and port (foundation, priority and the rest kept). */
export function withAddress(line: string, address: string, port: number): string {
  const match = CANDIDATE.exec(line.trim());
  if (!match) throw new Error(`not a candidate line: ${line}`);
  const [, prefix = '', foundation, component, transport, priority, , , type, rest] = match;
  return `${prefix}candidate:${foundation} ${component} ${transport} ${priority} ${address} ${port} typ ${type}${rest}`;
}

/**
 * Rewrites a candidate line: `map` returns the new address and port, or undefined to drop the candidate.
 * Resolves undefined when it is dropped (an unparsable line is dropped too: nothing may bypass the relay).
 */
export async function rewriteCandidate(line: string, map: CandidateMapper): Promise<string | undefined> {
  const candidate = parseCandidate(line);
  if (!candidate) return undefined;
  const target = await map(candidate);
  return target ? withAddress(line, target.address, target.port) : undefined;
}

/** Rewrites every `a=candidate` line of an SDP with {@link rewriteCandidate}; other lines are kept as they are. */
export async function rewriteSdpCandidates(sdp: string, map: CandidateMapper): Promise<string> {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('a=candidate:')) out.push(line);
    else {
      const rewritten = await rewriteCandidate(line, map);
      if (rewritten !== undefined) out.push(rewritten);
    }
  }
  return out.join(eol);
}

/** Candidate map: where a kept candidate is to point instead; undefined drops it. */
export type CandidateMapper = (candidate: CandidateAddress) => Promise<{ address: string; port: number } | undefined>;

/**
 * A 1:1 call's `peerSignal` payload on its way to a party, with the other party's candidates rewritten by
 * `map`: the `a=candidate` lines of an offer's or an answer's SDP, and a trickled candidate (resolves
 * undefined when that one is dropped, the message with it). Anything else (`reconnect`) passes as it is.
 */
export async function rewritePeerSignal(signal: Record<string, unknown>, map: CandidateMapper): Promise<Record<string, unknown> | undefined> {
  if ((signal.kind === 'offer' || signal.kind === 'answer') && typeof signal.sdp === 'string') {
    return { ...signal, sdp: await rewriteSdpCandidates(signal.sdp, map) };
  }
  if (signal.kind === 'candidate' && typeof signal.candidate === 'string') {
    const candidate = await rewriteCandidate(signal.candidate, map);
    return candidate === undefined ? undefined : { ...signal, candidate };
  }
  return signal;
}
