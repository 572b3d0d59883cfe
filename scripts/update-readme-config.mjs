// Rewrites the generated tables of the docs (run after `npm run build`): the environment
// options (docs/configuration.md), the connector file's keys (docs/bigquery.md) and a telephony
// vendor's keys (docs/integration.md), each from its zod schema in src/config/.
import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_TABLES, withGeneratedTable } from '../dist/config/markdown-table.js';

for (const { name, file, render } of GENERATED_TABLES) {
  const path = new URL(`../${file}`, import.meta.url);
  writeFileSync(path, withGeneratedTable(readFileSync(path, 'utf8'), name, render()));
  console.log(`${file}: table "${name}" updated`);
}
