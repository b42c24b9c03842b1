#!/usr/bin/env node
// Development entry: runs the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/entrypoint.ts');
