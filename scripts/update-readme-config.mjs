// Rewrites the configuration table of docs/configuration.md from src/config/options.ts (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { configTableMarkdown } from '../dist/config/index.js';

const path = new URL('../docs/configuration.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const start = readme.indexOf('| Variable | Default | Meaning |');
if (start < 0) throw new Error('docs/configuration.md has no configuration table to replace');
const end = readme.indexOf('\n\n', start);
writeFileSync(path, readme.slice(0, start) + configTableMarkdown() + readme.slice(end === -1 ? readme.length : end));
console.log('docs/configuration.md configuration table updated');
