// Types of the generated validator (packSchemaValidator.js, written by scripts/node/pack-validator.mjs).
export interface PackSchemaError {
  /** JSON Pointer to the value at fault ('' for the top level). */
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  /** For a bad key of an object (propertyNames). */
  propertyName?: string;
}

export declare const validate: ((data: unknown) => boolean) & { errors?: PackSchemaError[] | null };
export default validate;
