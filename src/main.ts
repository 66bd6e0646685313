#!/usr/bin/env node
import { runCli } from './cli/run';

// The only process.exit in pbx: everything else returns or throws.
process.exit(await runCli(process.argv.slice(2)));
