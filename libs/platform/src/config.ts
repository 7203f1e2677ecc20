/**
 * Configuration loading: every setting has a flag (`--kv-cache-gib`), an environment variable
 * (`KV_CACHE_GIB`) and a default, in that order of precedence. Values are parsed and validated up
 * front so a service never starts half-configured; a bad value is one ConfigError that names the
 * flag, the variable, the value and what was expected.
 *
 * Deliberately not a general CLI parser: apps/cli uses commander for commands; services use this.
 */

export type OptionType = 'string' | 'int' | 'float' | 'bool';

export interface OptionSpec<T extends OptionType = OptionType> {
  type: T;
  /** Environment variable; defaults to the key in SCREAMING_SNAKE_CASE. */
  env?: string;
  /** Flag name without dashes; defaults to the key in kebab-case. */
  flag?: string;
  default?: ValueOf<T>;
  /** Required when there is no default. */
  required?: boolean;
  min?: number;
  max?: number;
  choices?: readonly string[];
  description: string;
}

type ValueOf<T extends OptionType> = T extends 'string' ? string : T extends 'bool' ? boolean : number;

export type ConfigSchema = Record<string, OptionSpec>;

export type ConfigOf<S extends ConfigSchema> = {
  [K in keyof S]: S[K] extends OptionSpec<infer T>
    ? S[K]['default'] extends undefined
      ? ValueOf<T> | undefined
      : ValueOf<T>
    : never;
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Declares a schema with its literal types kept (for ConfigOf). */
export function defineConfig<S extends ConfigSchema>(schema: S): S {
  return schema;
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** Splits argv into `--flag value` / `--flag=value` / `--flag` (boolean true) / `--no-flag` pairs. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (arg.startsWith('--no-')) {
      flags.set(arg.slice(5), 'false');
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      flags.set(arg.slice(2), argv[++i]);
    } else {
      flags.set(arg.slice(2), 'true');
    }
  }
  return flags;
}

function parseValue(spec: OptionSpec, raw: string, where: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new ConfigError(`${where} is '${raw}': expected one of ${spec.choices.join(', ')}`);
      }
      return raw;
    case 'bool':
      if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
      if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
      throw new ConfigError(`${where} is '${raw}': expected true or false`);
    case 'int':
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where} is '${raw}': expected ${spec.type === 'int' ? 'an integer' : 'a number'}`);
      }
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${where} is ${n}: expected >= ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw new ConfigError(`${where} is ${n}: expected <= ${spec.max}`);
      return n;
    }
  }
}

/**
 * Loads a schema from flags and environment. Unknown flags are an error only when `strict` is set
 * (services started by the CLI share argv with it).
 */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  source: { argv?: readonly string[]; env?: NodeJS.ProcessEnv; overrides?: Partial<ConfigOf<S>>; strict?: boolean } = {},
): ConfigOf<S> {
  const flags = parseFlags(source.argv ?? process.argv.slice(2));
  const env = source.env ?? process.env;
  const out: Record<string, unknown> = {};
  const known = new Set<string>();
  for (const [key, spec] of Object.entries(schema)) {
    const flag = spec.flag ?? kebab(key);
    const envName = spec.env ?? snake(key);
    known.add(flag);
    const override = source.overrides?.[key as keyof S];
    if (override !== undefined) {
      out[key] = override;
      continue;
    }
    const where = flags.has(flag) ? `--${flag}` : `${envName}`;
    const raw = flags.get(flag) ?? env[envName];
    if (raw !== undefined) out[key] = parseValue(spec, raw, `${where} (flag --${flag}, env ${envName})`);
    else if (spec.default !== undefined) out[key] = spec.default;
    else if (spec.required) {
      throw new ConfigError(`missing setting: pass --${flag} or set ${envName} (${spec.description})`);
    }
  }
  if (source.strict) {
    for (const f of flags.keys()) {
      if (!known.has(f)) throw new ConfigError(`unknown flag --${f}; known flags: ${[...known].map((k) => `--${k}`).join(', ')}`);
    }
  }
  return out as ConfigOf<S>;
}

/** One line per option, for `--help` texts. */
export function describeConfig(schema: ConfigSchema): string {
  return Object.entries(schema)
    .map(([key, s]) => {
      const def = s.default !== undefined ? ` (default ${String(s.default)})` : s.required ? ' (required)' : '';
      return `  --${s.flag ?? kebab(key)} / ${s.env ?? snake(key)}: ${s.description}${def}`;
    })
    .join('\n');
}
