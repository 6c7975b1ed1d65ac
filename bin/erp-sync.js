#!/usr/bin/env node
// Node 22.8 and later keep V8's compiled code of each chunk between runs (node's own compile
// cache, checked against each file's content), which spares a command most of its compile time.
require('node:module').enableCompileCache?.();
require('../dist/cli.cjs');
