// The settings slice: what a person chooses (mode, level, seed, samples, class, compare, mask, LAG knobs). Its fields,
// defaults and bounds are the permalink's field table (src/share/permalink.ts), so the URL, the store and the
// setters cannot disagree; only the store's name for the link's `classIndex` differs (classOverride: it overrides
// the classifier's prediction).
import { DEFAULT_PERMALINK_STATE, PERMALINK_FIELDS, type PermalinkState } from '../../share/permalink';
import type { PlaygroundState } from '../store';
import type { SliceContext } from './context';

type SettingProp = Exclude<keyof PermalinkState, 'packId' | 'packDigest' | 'mask' | 'imagePng'>;
type SettingName<P extends SettingProp> = P extends 'classIndex' ? 'classOverride' : P;
/** The settings a link carries, under the store's names. */
export type LinkSettings = { [P in SettingProp as SettingName<P>]: PermalinkState[P] };

export interface Settings extends LinkSettings {
  /** imageSize^2 values in {0, 1}: 1 keeps the source's features; null means "everywhere". */
  mask: Float32Array | null;
}

export interface SettingsActions {
  setMode(mode: Settings['mode']): void;
  setLevel(level: number): void;
  setSeed(seed: number): void;
  rerollSeed(): void;
  setSamples(samples: number): void;
  setClassOverride(classIndex: number | null): void;
  setCompare(compare: boolean): void;
  toggleCompare(): void;
  setMask(mask: Float32Array | null): void;
  setLagAmplitude(amplitude: number): void;
  setLagCandidates(candidates: number): void;
}

const settingName = (prop: SettingProp) => (prop === 'classIndex' ? 'classOverride' : prop) as keyof LinkSettings;
const SETTING_FIELDS = PERMALINK_FIELDS.filter((spec) => spec.prop !== 'packId' && spec.prop !== 'packDigest');

/** The link's settings under the store's names. */
export function settingsOfLink(link: PermalinkState): LinkSettings {
  const settings: Record<string, unknown> = {};
  for (const spec of SETTING_FIELDS) settings[settingName(spec.prop as SettingProp)] = link[spec.prop];
  return settings as LinkSettings;
}

/** The store's settings under the link's names. */
export function linkFieldsOf(settings: LinkSettings): Pick<PermalinkState, SettingProp> {
  const fields: Record<string, unknown> = {};
  for (const spec of SETTING_FIELDS) fields[spec.prop] = settings[settingName(spec.prop as SettingProp)];
  return fields as Pick<PermalinkState, SettingProp>;
}

/** A numeric setting brought into the field table's bounds (whole numbers rounded; not-a-number: the minimum). */
export function withinBounds(name: keyof LinkSettings, value: number): number {
  const spec = SETTING_FIELDS.find((field) => settingName(field.prop as SettingProp) === name);
  if (!spec || (spec.kind !== 'int' && spec.kind !== 'float')) throw new Error(`${name} is not a numeric setting`);
  if (!Number.isFinite(value)) return spec.min;
  return Math.min(spec.max, Math.max(spec.min, spec.kind === 'int' ? Math.round(value) : value));
}

const DEFAULT_SETTINGS: Settings = { ...settingsOfLink(DEFAULT_PERMALINK_STATE), mask: null };

export function createSettingsSlice(ctx: SliceContext): Settings & SettingsActions {
  const { get, env } = ctx;
  const update = (patch: Partial<Settings>) => ctx.runs.settingsChanged(patch);
  const numeric = (name: 'level' | 'seed' | 'samples' | 'lagAmplitude' | 'lagCandidates') => (value: number) =>
    update({ [name]: withinBounds(name, value) } as Partial<PlaygroundState>);
  return {
    ...DEFAULT_SETTINGS,
    setMode: (mode) => update({ mode }),
    setLevel: numeric('level'),
    setSeed: numeric('seed'),
    rerollSeed: () => numeric('seed')(env.randomSeed()),
    setSamples: numeric('samples'),
    setClassOverride: (classIndex) => {
      const classCount = get().pack?.classNames.length ?? Infinity;
      const usable = classIndex !== null && classIndex >= 0 && classIndex < classCount;
      update({ classOverride: usable ? Math.round(classIndex) : null });
    },
    setCompare: (compare) => update({ compare }),
    toggleCompare: () => update({ compare: !get().compare }),
    setMask: (mask) => {
      const size = get().pack?.imageSize;
      if (mask && (!size || mask.length !== size * size)) {
        ctx.notices.push('errors', 'input', 'The painted mask does not match the model size and was ignored.');
        return;
      }
      ctx.versions.mask++;
      update({ mask });
    },
    setLagAmplitude: numeric('lagAmplitude'),
    setLagCandidates: numeric('lagCandidates'),
  };
}
