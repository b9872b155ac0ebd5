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
export async function rewriteCandidate(
  line: string,
  map: (candidate: CandidateAddress) => Promise<{ address: string; port: number } | undefined>,
): Promise<string | undefined> {
  const candidate = parseCandidate(line);
  if (!candidate) return undefined;
  const target = await map(candidate);
  return target ? withAddress(line, target.address, target.port) : undefined;
}

/** Rewrites every `a=candidate` line of an SDP with {@link rewriteCandidate}; other lines are kept as they are. */
export async function rewriteSdpCandidates(
  sdp: string,
  map: (candidate: CandidateAddress) => Promise<{ address: string; port: number } | undefined>,
): Promise<string> {
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
