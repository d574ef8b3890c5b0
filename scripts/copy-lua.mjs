// The Lua scripts are read at run time beside src/redis/scripts.ts (redis/lua/): the built program
// runs from dist/, which tsc fills with JavaScript only, so the build copies them there, afresh.
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/src/redis/lua', { recursive: true, force: true });
cpSync('src/redis/lua', 'dist/src/redis/lua', { recursive: true });
