// Architecture hyperparameters come from pack.json (the code has no model constants). Their types and bounds are
// checked by the pack schema (docs/pack.schema.json) before any parse*Arch function sees them; those functions
// check only the rules between fields, with this error.
import { EngineError } from './errors';

export function archError(model: string, message: string): EngineError {
  return new EngineError('pack-format', `pack.json models.${model}.arch: ${message}`, 'pack.json');
}
