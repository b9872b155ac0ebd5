// The port of examples/porting/reference/*.ts, as docs/porting.md describes it: the import of the
// reference calling SDK switched to Backchannel's, nothing else. Writes examples/porting/<name>.ts;
// test/unit/porting.test.ts checks the committed copies are exactly this.
//
//   npx tsx scripts/port-examples.ts
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PORTED_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'porting');
export const REFERENCE_DIR = join(PORTED_DIR, 'reference');

/** The ported text of a module written against the reference SDK. */
export function port(source: string): string {
  return source.replaceAll("from '@azure/communication-calling';", "from '@backchannel/client';");
}

/** Every reference module, by file name. */
export function referenceModules(): string[] {
  return readdirSync(REFERENCE_DIR).filter((name) => name.endsWith('.ts'));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const name of referenceModules()) {
    writeFileSync(join(PORTED_DIR, name), port(readFileSync(join(REFERENCE_DIR, name), 'utf8')));
    console.log(`examples/porting/${name}`);
  }
}
