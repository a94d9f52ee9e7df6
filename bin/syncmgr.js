#!/usr/bin/env node
// The CLI lives in the compiled package; `npm install` builds it through the `prepare` script.
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`syncmgr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
