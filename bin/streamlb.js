#!/usr/bin/env node
// `npx streamlb`: runs the JavaScript that `npm ci` (prepare) built from src/.
import "../dist/js/src/main.node.js";
