import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CHECKLIST_IDS,
  overrideShape,
  validateThreshold,
  type ThresholdOverride,
} from '../core/checklist.js';
import { parseDurationHours } from '../core/duration.js';
import { inputError } from '../core/errors.js';
import { writeFileAtomicSync } from './files.js';

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

/**
 * The folder conf and env-paths used for projectName "rfsq" (so settings written by earlier versions are
 * still found): $XDG_CONFIG_HOME/rfsq or ~/.config/rfsq, ~/Library/Preferences/rfsq on macOS,
 * %APPDATA%/rfsq/Config on Windows.
 */
function defaultSettingsDir(): string {
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Preferences', 'rfsq');
  if (process.platform === 'win32')
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'rfsq', 'Config');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'rfsq');
}

/**
 * User defaults: one JSON object in config.json in the user's config directory (RFSQ_CONFIG_DIR overrides
 * it), read synchronously and written atomically. A few lines of our own instead of conf: conf pulls in ajv
 * and costs about 0.2 s of every start-up (measured: `import 'conf'` 0.35 s against 0.15 s for commander),
 * while rfsq validates each setting itself (settingSpec) and needs none of its schema machinery.
 */
export class Settings {
  readonly path: string;
  private cache: Record<string, SettingValue> | undefined;

  constructor(directory = process.env.RFSQ_CONFIG_DIR) {
    this.path = path.resolve(directory || defaultSettingsDir(), 'config.json');
  }

  private get store(): Record<string, SettingValue> {
    if (this.cache) return this.cache;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return (this.cache = {});
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw inputError(
        `the settings file ${this.path} is not a JSON object`,
        'fix or delete it (`rfsq config list` shows the settings once it parses)',
      );
    return (this.cache = parsed as Record<string, SettingValue>);
  }

  private save(next: Record<string, SettingValue>): void {
    writeFileAtomicSync(this.path, JSON.stringify(next, undefined, '\t'));
    this.cache = next;
  }

  get(key: string): SettingValue | undefined {
    settingSpec(key);
    return this.store[key];
  }

  set(key: string, text: string): SettingValue {
    const value = settingSpec(key).parse(text, key);
    this.save({ ...this.store, [key]: value });
    return value;
  }

  unset(key: string): void {
    settingSpec(key);
    const { [key]: _removed, ...rest } = this.store;
    this.save(rest);
  }

  list(): Record<string, SettingValue> {
    return { ...this.store };
  }

  timeBudget(): string | undefined {
    const value = this.store['time-budget'];
    return typeof value === 'string' ? value : undefined;
  }

  thresholdOverrides(): Record<string, ThresholdOverride> {
    const overrides: Record<string, ThresholdOverride> = {};
    for (const [key, value] of Object.entries(this.store)) {
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
