#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx's loader, so a fresh `npm ci` is enough.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
