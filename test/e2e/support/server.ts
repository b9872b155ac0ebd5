/** The server for a run: in-process, demo mode, on a free loopback port, serving the built demo app. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startServer, type RunningServer } from '@backchannel/server';

const DEMO_DIST = fileURLToPath(new URL('../../../apps/demo/dist', import.meta.url));

export async function startDemoServer(durableMaxKbps = 100_000): Promise<RunningServer> {
  if (!existsSync(`${DEMO_DIST}/index.html`)) {
    throw new Error(`the demo app is not built (${DEMO_DIST}): run \`npm run build\` at the repository root first`);
  }
  // The Durable limit is raised as `npm start` raises it: at the default 64 kbps a 5 MiB file takes 11 minutes.
  // The recipient backlog bound is by time at the rate each page drains: on a loaded machine a Chromium page
  // starved of CPU drains slowly, and the server would drop copies of the file's chunks for it (reported, as
  // RecipientSlow; seen once with four test suites running beside this one). These tests are not about that
  // bound (impairment.test.ts is), so it is lifted, as in the integration harness.
  return startServer({ port: 0, host: '127.0.0.1', demo: true, demoStaticDir: DEMO_DIST, limits: { durableMaxKbps }, recipientBacklogMs: 10 * 60_000 });
}
