#!/usr/bin/env node
// Compiled by `npm install` (the prepare script runs `npm run build`).
import '../dist/cli/run.js';
