#!/usr/bin/env node
// Entry point installed as `bt`: loads the bundled CLI built by `npm ci` (scripts/build.mjs). CommonJS, as is
// the bundle (bin/package.json): no ES module loader to start.
require("../dist/cli.js");
