#!/usr/bin/env node
import { runCli } from './cli/run';
import { restartWithStreamingHeap } from './cli/runtime';

// Libraries' deprecation notices (ioredis's url.parse) are for their authors, not for pbx's users.
process.noDeprecation = true;

restartWithStreamingHeap(process.argv.slice(2));

// The only process.exit in pbx: everything else returns or throws.
process.exit(await runCli(process.argv.slice(2)));
