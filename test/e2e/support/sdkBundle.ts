/**
 * The SDK bundled for a browser exactly as an application's bundler would (esbuild, `browser` condition),
 * as a script that sets `window.Backchannel`: lets a test drive the SDK API itself inside Chromium.
 */
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../../../packages/client/dist/index.js', import.meta.url));

export async function sdkBrowserBundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'Backchannel',
    platform: 'browser',
    conditions: ['browser'],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
