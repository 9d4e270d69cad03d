#!/usr/bin/env node
// The installed command `webgpu-lrpo` (package.json "bin" -> dist/cli/bin.js).
import { runCli } from './main.js';

await runCli(process.argv);
