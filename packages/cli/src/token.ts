/**
 * `backchannel token`: creates an identity with a voip token through the identity API (or, with
 * --identity, issues a new token for an existing one) and prints the token alone, so that
 * `TOKEN=$(backchannel token)` works; --json prints the server's whole answer.
 */
import { Option, type Command } from 'commander';

import { ExitCode, result, runAction } from './common.js';
import { accessKeyOption, integerIn, requireAccessKey, serverOption, toolCommand, type ServerFlags } from './options.js';
import { createIdentityWithToken, issueAccessToken } from './serverApi.js';

interface TokenFlags extends ServerFlags {
  identity?: string;
  expiresInMinutes?: number;
  json: boolean;
}

export function tokenCommand(): Command {
  return toolCommand('token', 'create an identity with a voip token and print the token')
    .addOption(serverOption())
    .addOption(accessKeyOption())
    .addOption(new Option('--identity <id>', 'issue a new token for this existing identity instead').env('BACKCHANNEL_IDENTITY'))
    .addOption(
      new Option('--expires-in-minutes <n>', "token lifetime (default: the server's, at most 1440)").env('BACKCHANNEL_EXPIRES_IN_MINUTES').argParser(integerIn(1, 1440)),
    )
    .addOption(new Option('--json', 'print the whole answer as JSON: { identity: { id }, accessToken: { token, expiresOn } }').env('BACKCHANNEL_JSON').default(false))
    .addHelpText('after', '\nExample:\n  TOKEN=$(backchannel token --access-key "$KEY")')
    .action(
      runAction('token', async (flags: TokenFlags) => {
        const access = { url: flags.server, accessKey: requireAccessKey(flags, 'creating a token') };
        const answer = flags.identity
          ? { identity: { id: flags.identity }, accessToken: await issueAccessToken(access, flags.identity, flags.expiresInMinutes) }
          : await createIdentityWithToken(access, flags.expiresInMinutes);
        result(flags.json ? JSON.stringify(answer) : answer.accessToken.token);
        return ExitCode.Ok;
      }),
    );
}
