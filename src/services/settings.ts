import Conf from 'conf';
import {
  CHECKLIST_IDS,
  overrideShape,
  validateThreshold,
  type ThresholdOverride,
} from '../core/checklist.js';
import { parseDurationHours } from '../core/duration.js';
import { inputError } from '../core/errors.js';

export const RUNNERS = ['local', 'modal', 'slurm'] as const;
export type Runner = (typeof RUNNERS)[number];

/** A setting's key, how to validate a text value, and what it means. */
interface SettingSpec {
  description: string;
  example: string;
  parse: (text: string, key: string) => string | number | ThresholdOverride;
}

const FIXED_SETTINGS: Record<string, SettingSpec> = {
  'time-budget': {
    description: 'default time budget for `rfsq recommend`',
    example: '3d',
    parse: (text) => {
      parseDurationHours(text, 'time-budget');
      return text;
    },
  },
  runner: {
    description: 'default runner for pipeline steps (local, modal or slurm)',
    example: 'local',
    parse: (text) => {
      if (!(RUNNERS as readonly string[]).includes(text)) {
        throw inputError(
          `runner "${text}" is not one of ${RUNNERS.join(', ')}`,
          'rfsq config set runner local',
        );
      }
      return text;
    },
  },
};

function thresholdSpec(itemId: string): SettingSpec | undefined {
  const shape = overrideShape(itemId);
  if (shape === null) return undefined;
  return {
    description: `threshold of checklist item ${itemId}`,
    example: shape === 'range' ? '40-60' : '0.015',
    parse: (text, key) => validateThreshold(itemId, parseThreshold(text, shape, key), key),
  };
}

function parseThreshold(text: string, shape: 'number' | 'range', key: string): ThresholdOverride {
  if (shape === 'range') {
    const match = /^\s*(-?\d+(?:\.\d+)?)\s*[-–:]\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
    const min = Number(match?.[1]);
    const max = Number(match?.[2]);
    if (!match || !(min <= max)) {
      throw inputError(`${key} "${text}" is not a range`, `write min-max, e.g. rfsq config set ${key} 40-60`);
    }
    return { min, max };
  }
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw inputError(`${key} "${text}" is not a number`, `write e.g. rfsq config set ${key} 0.015`);
  }
  return value;
}

export function settingSpec(key: string): SettingSpec {
  const fixed = FIXED_SETTINGS[key];
  if (fixed) return fixed;
  const spec = key.startsWith('threshold.') ? thresholdSpec(key.slice('threshold.'.length)) : undefined;
  if (spec) return spec;
  const thresholdKeys = CHECKLIST_IDS.filter((id) => overrideShape(id) !== null).map(
    (id) => `threshold.${id}`,
  );
  throw inputError(
    `unknown setting "${key}"`,
    `known settings: ${[...Object.keys(FIXED_SETTINGS), ...thresholdKeys].join(', ')}`,
  );
}

export function knownSettingKeys(): string[] {
  return [
    ...Object.keys(FIXED_SETTINGS),
    ...CHECKLIST_IDS.filter((id) => overrideShape(id) !== null).map((id) => `threshold.${id}`),
  ];
}

export type SettingValue = string | number | ThresholdOverride;

/** User defaults, stored by conf in the user's config directory (RFSQ_CONFIG_DIR overrides it). */
export class Settings {
  private readonly store: Conf<Record<string, SettingValue>>;

  constructor(directory = process.env.RFSQ_CONFIG_DIR) {
    this.store = new Conf<Record<string, SettingValue>>({
      projectName: 'rfsq',
      projectSuffix: '',
      accessPropertiesByDotNotation: false,
      ...(directory ? { cwd: directory } : {}),
    });
  }

  get path(): string {
    return this.store.path;
  }

  get(key: string): SettingValue | undefined {
    settingSpec(key);
    return this.store.get(key);
  }

  set(key: string, text: string): SettingValue {
    const value = settingSpec(key).parse(text, key);
    this.store.set(key, value);
    return value;
  }

  unset(key: string): void {
    settingSpec(key);
    this.store.delete(key);
  }

  list(): Record<string, SettingValue> {
    return { ...this.store.store };
  }

  timeBudget(): string | undefined {
    const value = this.store.get('time-budget');
    return typeof value === 'string' ? value : undefined;
  }

  thresholdOverrides(): Record<string, ThresholdOverride> {
    const overrides: Record<string, ThresholdOverride> = {};
    for (const [key, value] of Object.entries(this.store.store)) {
      if (key.startsWith('threshold.') && (typeof value === 'number' || typeof value === 'object')) {
        overrides[key.slice('threshold.'.length)] = value;
      }
    }
    return overrides;
  }
}

export function formatSettingValue(value: SettingValue): string {
  if (typeof value === 'object') return `${value.min}-${value.max}`;
  return String(value);
}
