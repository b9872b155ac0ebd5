/**
 * The browser SDK stays light: everything `@backchannel/client` exports, bundled for a browser and minified
 * as an application's bundler would (esbuild, `browser` condition), is at most BUDGET_BYTES, and holds none
 * of the Node-only packages. The measured size is printed; README.md states it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { build, type Metafile } from 'esbuild';

/** Issue #10's budget for the minified browser bundle. */
const BUDGET_BYTES = 120_000;
const ENTRY = fileURLToPath(new URL('../../packages/client/dist/index.js', import.meta.url));

/** The minified browser bundle of the SDK, with esbuild's account of what went into it. */
async function measureBrowserBundle(): Promise<{ bytes: number; byPackage: Map<string, number> }> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['browser'],
    minify: true,
    metafile: true,
    logLevel: 'silent',
  });
  const byPackage = new Map<string, number>();
  for (const output of Object.values((result.metafile as Metafile).outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = packageOf(file);
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return { bytes: result.outputFiles[0]!.contents.byteLength, byPackage };
}

/** `node_modules/@scope/name/…` → `@scope/name`; `packages/client/…` → `@backchannel/client`. */
function packageOf(file: string): string {
  const inModules = file.split('node_modules/').pop()!;
  if (inModules !== file) return inModules.startsWith('@') ? inModules.split('/').slice(0, 2).join('/') : inModules.split('/')[0]!;
  const workspace = /packages\/([^/]+)\//.exec(file);
  return workspace ? `@backchannel/${workspace[1]}` : file;
}

describe('the browser bundle of @backchannel/client', () => {
  it(`is at most ${BUDGET_BYTES} bytes minified, and holds no Node-only package`, async () => {
    const { bytes, byPackage } = await measureBrowserBundle();
    const parts = [...byPackage].sort((a, b) => b[1] - a[1]).map(([name, size]) => `${name} ${(size / 1000).toFixed(1)} kB`);
    console.log(`browser bundle: ${bytes} bytes minified (${parts.join(', ')})`);
    assert.ok(bytes <= BUDGET_BYTES, `the browser bundle is ${bytes} bytes, over the ${BUDGET_BYTES}-byte budget`);
    for (const nodeOnly of ['node-datachannel', 'ws', '@backchannel/node-rtc']) assert.ok(!byPackage.has(nodeOnly), `${nodeOnly} is in the browser bundle`);
  });
});
