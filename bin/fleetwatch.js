#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: no build step
// between a checkout and `npx fleetwatch`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
