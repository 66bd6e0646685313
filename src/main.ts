#!/usr/bin/env node
import { restartWithStreamingHeap } from './cli/runtime';

// Libraries' deprecation notices (ioredis's url.parse) are for their authors, not for pbx's users.
process.noDeprecation = true;

// Before the CLI's modules load: a restart would load them again.
restartWithStreamingHeap(process.argv.slice(2));
const { runCli } = await import('./cli/run');

// The only process.exit in pbx: everything else returns or throws.
process.exit(await runCli(process.argv.slice(2)));
