/**
 * The page's TypeScript types of its Firestore documents, generated from the JSON
 * Schema that `python -m ticketflow.dev.web_schema` exports from the pydantic models.
 *
 *   node scripts/models.mjs          write src/generated/models.ts
 *   node scripts/models.mjs --check  exit 1 when it differs from what the schema gives
 *
 * `make web-models` regenerates both files; `test/models.test.ts` runs the check.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const SCHEMA = fileURLToPath(new URL('../src/generated/models.schema.json', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../src/generated/models.ts', import.meta.url));

const BANNER = `/**
 * GENERATED from the pydantic models: do not edit. Run \`make web-models\`.
 *
 * Source: web/src/generated/models.schema.json (python -m ticketflow.dev.web_schema),
 * compiled by json-schema-to-typescript (web/scripts/models.mjs).
 */`;

/** The TypeScript text for a schema (the same options for writing and checking). */
export async function renderModels(schema) {
  return compile(schema, 'TicketflowDocuments', {
    bannerComment: BANNER,
    additionalProperties: false,
    declareExternallyReferenced: true,
    enableConstEnums: false,
    strictIndexSignatures: false,
    unreachableDefinitions: false,
    style: { singleQuote: true, printWidth: 100 },
  });
}

async function main(args) {
  const schema = JSON.parse(await readFile(SCHEMA, 'utf8'));
  const text = await renderModels(schema);
  if (args.includes('--check')) {
    const current = await readFile(OUTPUT, 'utf8').catch(() => '');
    if (current !== text) {
      console.error(`${OUTPUT} is out of date with ${SCHEMA}: run \`make web-models\``);
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(OUTPUT, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
