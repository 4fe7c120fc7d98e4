// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { renderModels } from '../scripts/models.mjs';
import schema from '../src/generated/models.schema.json';
import committed from '../src/generated/models.ts?raw';

// The other half of the check, that models.schema.json is what the pydantic models
// give, is tests/unit/test_web_schema.py.
describe('generated document types', () => {
  it('models.ts is what json-schema-to-typescript makes of the committed schema', async () => {
    // Out of sync: run `make web-models` and commit both generated files.
    expect(await renderModels(schema)).toBe(committed);
  });

  it('a change to the schema changes the generated types', async () => {
    const changed = structuredClone(schema);
    changed.$defs.ActionResult.properties.reason.anyOf = [{ type: 'string' }];
    const text = await renderModels(changed);
    expect(text).not.toBe(committed);
    expect(text).toContain('reason?: string;');
  });
});
