// Removes every package's build output, so that `npm run build` starts clean: `tsc -b` never deletes the
// outputs of a source file that was moved or removed, and `files: ["dist"]` would publish them.
import { readdirSync, rmSync } from 'node:fs';

for (const name of readdirSync('packages')) {
  rmSync(`packages/${name}/dist`, { recursive: true, force: true });
  rmSync(`packages/${name}/tsconfig.tsbuildinfo`, { force: true });
}
