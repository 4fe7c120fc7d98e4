/** Types of `models.mjs` for the test that checks the generated file. */
export function renderModels(schema: object): Promise<string>;
