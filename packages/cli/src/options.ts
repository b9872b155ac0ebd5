/**
 * The options the client tools share, each a flag and an environment variable (flags win), named like
 * `serve`'s: BACKCHANNEL_<FLAG NAME>, except the server's address, BACKCHANNEL_URL (as in the examples).
 */
import { Command, InvalidArgumentError, Option } from 'commander';

import { CliError, ExitCode } from './common.js';

export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8080';

/** Where the server is and the key to its identity API, as the tools that talk HTTP take them. */
export interface ServerFlags {
  server: string;
  accessKey?: string;
}

/**
 * A client tool's command: options from the environment, usage errors with a pointer to --help. Boolean
 * flags set from the environment follow its value ('0', 'false', 'no', 'off' and '' are off; a --no-x
 * flag's variable turns x off when on), where commander alone would act on any value.
 */
export function toolCommand(name: string, description: string): Command {
  const command = new Command(name).description(description).showHelpAfterError('(add --help for usage)');
  command.hook('preAction', (self) => {
    for (const option of self.options) {
      const attribute = option.attributeName();
      if (!option.isBoolean() || !option.envVar || self.getOptionValueSource(attribute) !== 'env') continue;
      const on = isOn(process.env[option.envVar] ?? '');
      self.setOptionValueWithSource(attribute, option.negate ? !on : on, 'env');
    }
  });
  return command;
}

function isOn(value: string): boolean {
  return !['', '0', 'false', 'no', 'off'].includes(value.trim().toLowerCase());
}

export function serverOption(): Option {
  return new Option('--server <url>', 'the Backchannel server').env('BACKCHANNEL_URL').default(DEFAULT_SERVER_URL).argParser(parseServerUrl);
}

export function accessKeyOption(): Option {
  return new Option('--access-key <key>', "the server's access key (guards the identity API)").env('BACKCHANNEL_ACCESS_KEY');
}

export function groupOption(): Option {
  return new Option('--group <id>', 'required: the group call to join (any string; joining creates it)').env('BACKCHANNEL_GROUP').makeOptionMandatory();
}

export function nameOption(fallback: string): Option {
  return new Option('--name <name>', 'your display name in the call').env('BACKCHANNEL_NAME').default(fallback);
}

export function tokenOption(): Option {
  return new Option('--token <token>', 'a voip token to join with (default: get one with --access-key)').env('BACKCHANNEL_TOKEN');
}

export function channelOption(env: string, fallback: number, help: string): Option {
  return new Option('--channel <id>', help).env(env).default(fallback).argParser(integerIn(1, 65535));
}

/** A parser accepting integers from `min` to `max`, refusing anything else with a usage error. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

/** The base URL without a trailing slash; http(s) only, since the tools speak HTTP and WebSocket to it. */
export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`expected a URL such as ${DEFAULT_SERVER_URL}, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`expected an http:// or https:// URL, got '${value}'`);
  return url.href.replace(/\/+$/, '');
}

/** The access key, or a usage error saying how to give it. */
export function requireAccessKey(flags: { accessKey?: string }, why: string): string {
  if (flags.accessKey) return flags.accessKey;
  throw new CliError(ExitCode.Usage, `${why} needs the server's access key: --access-key or BACKCHANNEL_ACCESS_KEY`);
}
