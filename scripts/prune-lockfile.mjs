// Run after `npm install` changes package-lock.json (npm run lock:prune).
//
// The registry our machines and CI use serves only some platforms' builds of a few optional native
// packages (e.g. @msgpackr-extract/* for bullmq → msgpackr). `npm install` then writes a lockfile
// that names them as optional dependencies without entries, which `npm ci` refuses as "out of sync".
// Dropping those dangling names keeps `npm ci` working; the packages fall back to plain JavaScript.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!lock.packages[`node_modules/${name}`] && !lock.packages[`${path}/node_modules/${name}`]) {
      delete entry.optionalDependencies[name];
      console.log(`dropped ${name} (optional dependency of ${path}; not on this registry)`);
    }
  }
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
