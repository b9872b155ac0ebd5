#!/usr/bin/env node
// The `backchannel` command. A committed launcher so the bin exists (and is executable) before the
// TypeScript is built; the command itself lives in src/main.ts.
import '../dist/main.js';
