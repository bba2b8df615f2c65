#!/usr/bin/env node
// Entry point installed as `bt`: loads the bundled CLI built by `npm ci` (scripts/build.mjs).
import '../dist/cli.js';
