// pack.json against docs/pack.schema.json, the one definition the Python exporter checks too. The validator is
// generated from the schema at build time (scripts/node/pack-validator.mjs): plain code, so it runs under the app's
// CSP, which allows no eval. Its first error becomes one sentence that names the field at fault.
import { validate, type PackSchemaError } from './generated/packSchemaValidator.js';

/** "/models/vgg/arch/widths/0" -> models.vgg.arch.widths[0]; shard names keep their dots: shards["a.bin"]. */
export function fieldName(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let name = '';
  for (const [i, part] of parts.entries()) {
    if (/^\d+$/.test(part)) name += `[${part}]`;
    else if (parts[i - 1] === 'shards' && i === 1) name += `[${JSON.stringify(part)}]`;
    else name += name === '' ? part : `.${part}`;
  }
  return name;
}

function valueAt(data: unknown, pointer: string): unknown {
  let value = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/** A short, printable rendering of an untrusted value. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function describeProblem(error: PackSchemaError, data: unknown): string {
  const field = fieldName(error.instancePath);
  const where = field === '' ? 'pack.json' : `pack.json field "${field}"`;
  const value = valueAt(data, error.instancePath);
  const p = error.params;
  switch (error.keyword) {
    case 'required':
      return `${field === '' ? 'pack.json' : where} lacks the required field "${p.missingProperty}"`;
    case 'additionalProperties':
      return `${where} has an unknown field "${p.additionalProperty}"`;
    case 'type': {
      const types = String(p.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t);
      return `${where} must be ${types.join(' or ')}, not ${shown(value)}`;
    }
    case 'maximum':
    case 'minimum':
    case 'exclusiveMinimum':
      return `${where} is ${shown(value)}; it must be ${p.comparison} ${p.limit}`;
    case 'const':
      return `${where} is ${shown(value)}; it must be ${shown(p.allowedValue)}`;
    case 'enum':
      return `${where} is ${shown(value)}; it must be one of ${(p.allowedValues as unknown[]).map(shown).join(', ')}`;
    case 'pattern':
      return error.propertyName !== undefined
        ? `${where} has an entry named ${shown(error.propertyName)}, which is not an allowed file name`
        : `${where} is ${shown(value)}, which does not have the required form (${p.pattern})`;
    case 'maxItems':
    case 'minItems':
      return `${where} has ${Array.isArray(value) ? value.length : '?'} entries; it must have ${error.keyword === 'maxItems' ? 'at most' : 'at least'} ${p.limit}`;
    case 'maxProperties':
    case 'minProperties':
      return `${where} has ${value && typeof value === 'object' ? Object.keys(value).length : '?'} entries; it must have ${error.keyword === 'maxProperties' ? 'at most' : 'at least'} ${p.limit}`;
    case 'maxLength':
    case 'minLength':
      return `${where} must be ${error.keyword === 'maxLength' ? 'at most' : 'at least'} ${p.limit} characters long`;
    default:
      return `${where} ${error.message ?? 'is not valid'}`;
  }
}

/** null when `json` follows the schema, otherwise a sentence naming the field at fault. */
export function packSchemaProblem(json: unknown): string | null {
  if (validate(json)) return null;
  const errors = validate.errors ?? [];
  // For a bad key, the specific error (its pattern) comes before the summary one (propertyNames).
  const error = errors.find((e) => e.keyword !== 'propertyNames' && e.keyword !== 'if') ?? errors[0];
  return error ? describeProblem(error, json) : 'pack.json does not follow the pack schema';
}
