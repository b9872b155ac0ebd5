/**
 * The call's user-facing diagnostics, in the reference SDK's shape (`call.feature(Features.UserFacingDiagnostics)`).
 * Backchannel reports the network diagnostic that concerns its data: `networkReconnect`, Bad when the
 * endpoint lost its connection and is resuming, Good once it has resumed (docs/reliability.md). The
 * reference's media diagnostics have no meaning without media and are not offered.
 */
import { TypedEmitter, type ListenerErrorReporter } from '../events.js';
import type { CallFeature } from '../Features.js';
import type { CallCore } from '../internal/call/CallCore.js';

/** Reference SDK: `DiagnosticQuality` (Good = 1, Poor = 2, Bad = 3). */
export const DiagnosticQuality = Object.freeze({ Good: 1, Poor: 2, Bad: 3 } as const);
export type DiagnosticQuality = (typeof DiagnosticQuality)[keyof typeof DiagnosticQuality];

/** Reference SDK: `LatestDiagnosticValue`. */
export interface LatestDiagnosticValue {
  value: DiagnosticQuality | boolean;
  valueType: 'DiagnosticQuality' | 'DiagnosticFlag';
}

/** Reference SDK: `LatestNetworkDiagnostics` (the diagnostics Backchannel raises). */
export interface LatestNetworkDiagnostics {
  networkReconnect?: LatestDiagnosticValue;
}

/** Reference SDK: `NetworkDiagnosticChangedEventArgs`. */
export type NetworkDiagnosticChangedEventArgs = LatestDiagnosticValue & { diagnostic: keyof LatestNetworkDiagnostics };

export interface NetworkDiagnosticsEvents {
  diagnosticChanged: [args: NetworkDiagnosticChangedEventArgs];
}

let wrapNetwork: (core: CallCore, reporter: ListenerErrorReporter) => NetworkDiagnostics;

/** Reference SDK: `NetworkDiagnostics`. */
export class NetworkDiagnostics extends TypedEmitter<NetworkDiagnosticsEvents> {
  static {
    wrapNetwork = (core, reporter) => new NetworkDiagnostics(core, reporter);
  }

  #latest: LatestNetworkDiagnostics = {};

  private constructor(core: CallCore, reporter: ListenerErrorReporter) {
    super(reporter);
    core.on('networkReconnect', (phase) => {
      const value: LatestDiagnosticValue = { value: phase === 'lost' ? DiagnosticQuality.Bad : DiagnosticQuality.Good, valueType: 'DiagnosticQuality' };
      this.#latest = { ...this.#latest, networkReconnect: value };
      this.emit('diagnosticChanged', { diagnostic: 'networkReconnect', ...value });
    });
  }

  /** The latest value of each diagnostic raised so far. */
  getLatest(): LatestNetworkDiagnostics {
    return { ...this.#latest };
  }
}

let wrapFeature: (core: CallCore, reporter: ListenerErrorReporter) => UserFacingDiagnosticsFeature;

/** Reference SDK: `UserFacingDiagnosticsFeature` (its `network` part). */
export class UserFacingDiagnosticsFeature implements CallFeature {
  static {
    wrapFeature = (core, reporter) => new UserFacingDiagnosticsFeature(core, reporter);
  }

  readonly name = 'UserFacingDiagnostics';
  readonly network: NetworkDiagnostics;

  private constructor(core: CallCore, reporter: ListenerErrorReporter) {
    this.network = wrapNetwork(core, reporter);
  }
}

/** @internal The diagnostics feature of a call (used by the call only). */
export function publicDiagnosticsFeature(core: CallCore, reporter: ListenerErrorReporter): UserFacingDiagnosticsFeature {
  return wrapFeature(core, reporter);
}
