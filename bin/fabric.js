#!/usr/bin/env node
// The `fabric` command runs the compiled CLI; `npm ci` (prepare) builds it.
require('../dist/src/cli/main.js');
