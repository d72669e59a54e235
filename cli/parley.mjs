#!/usr/bin/env node
// The `parley` command. Sources are TypeScript run through tsx (a runtime dependency), so there is no
// separate build step between a checkout and a working command.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
