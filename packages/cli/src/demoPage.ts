/**
 * Where `serve --demo` finds the demo page when `--demo-dir` does not say: the built `dist/` of the
 * @backchannel/demo package (apps/demo), through that package's export, never through a path into the
 * repository's layout. The demo is private to the repository: outside a checkout, --demo needs --demo-dir.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The demo's dist directory. It need not be built yet: the server then answers `/` with DemoNotBuilt.
 * Throws when the demo package is not installed.
 */
export function demoStaticDir(): string {
  let index: string;
  try {
    index = import.meta.resolve('@backchannel/demo/dist/index.html');
  } catch (error) {
    throw new Error('--demo serves the demo page of a repository checkout, and @backchannel/demo is not installed here: give the built page with --demo-dir', {
      cause: error,
    });
  }
  return dirname(fileURLToPath(index));
}
