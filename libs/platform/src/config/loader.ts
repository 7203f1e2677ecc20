/**
 * Configuration loading: every setting has a flag (`--kv-cache-gib`), an environment variable
 * derived from the flag (`LLM_KV_CACHE_GIB`: `LLM_` + the flag in SCREAMING_SNAKE_CASE, no
 * exceptions) and a default, in that order of precedence. Values are parsed and validated up front
 * so a service never starts half-configured; a bad value is one ConfigError that names the flag,
 * the variable, the value and what was expected. The `LLM_` prefix keeps the apps clear of generic
 * names (HOST, PORT, MODEL) and of the `<SERVICE>_PORT` variables Kubernetes injects.
 *
 * Deliberately not a general CLI parser: apps/cli uses commander for commands; services use this.
 * Light on purpose (no imports): `--help` is answered before any heavy module loads.
 */

export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list';

export interface OptionSpec<T extends OptionType = OptionType> {
  type: T;
  /** Flag name without dashes; defaults to the key in kebab-case. The env name derives from it. */
  flag?: string;
  default?: ValueOf<T>;
  /** Required when there is no default. */
  required?: boolean;
  min?: number;
  max?: number;
  choices?: readonly string[];
  /** Never echoed in errors (keys, passwords). */
  secret?: boolean;
  description: string;
}

type ValueOf<T extends OptionType> = T extends 'string'
  ? string
  : T extends 'bool'
    ? boolean
    : T extends 'list'
      ? readonly string[]
      : number;

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

/** The flag of a schema key: `kvCacheGib` -> `kv-cache-gib` (or the spec's `flag`). */
export function flagOf(key: string, spec: OptionSpec): string {
  return spec.flag ?? kebab(key);
}

/** The environment variable of a flag: `kv-cache-gib` -> `LLM_KV_CACHE_GIB`. */
export function envOf(flag: string): string {
  return `LLM_${flag.replace(/-/g, '_').toUpperCase()}`;
}

export interface ParsedArgs {
  /** Every value of every flag, in order (`--api-key a --api-key b` -> ['a', 'b']). */
  flags: Map<string, string[]>;
  /** Arguments that are neither flags nor flag values. */
  positional: string[];
}

/** Splits argv into `--flag value` / `--flag=value` / `--flag` (boolean true) / `--no-flag` and positionals. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  const put = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) put(arg.slice(2, eq), arg.slice(eq + 1));
    else if (arg.startsWith('--no-')) put(arg.slice(5), 'false');
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) put(arg.slice(2), argv[++i]);
    else put(arg.slice(2), 'true');
  }
  return { flags, positional };
}

/** The last value of each flag (a repeated scalar flag: the last one wins). */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of parseArgs(argv).flags) out.set(k, v[v.length - 1]);
  return out;
}

function parseValue(spec: OptionSpec, raws: string[], where: string): string | number | boolean | string[] {
  const raw = raws[raws.length - 1];
  const shown = spec.secret ? '(hidden)' : `'${raw}'`;
  switch (spec.type) {
    case 'list':
      return raws.flatMap((r) => r.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new ConfigError(`${where} is ${shown}: expected one of ${spec.choices.join(', ')}`);
      }
      return raw;
    case 'bool':
      if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
      if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
      throw new ConfigError(`${where} is ${shown}: expected true or false`);
    case 'int':
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${where} is ${shown}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}`);
      }
      if (spec.min !== undefined && n < spec.min) throw new ConfigError(`${where} is ${n}: expected >= ${spec.min}`);
      if (spec.max !== undefined && n > spec.max) throw new ConfigError(`${where} is ${n}: expected <= ${spec.max}`);
      return n;
    }
  }
}

/**
 * Loads a schema from flags and environment. Unknown flags and stray arguments are an error only
 * when `strict` is set (the apps' mains set it; tests pass argv: [] and overrides).
 */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  source: { argv?: readonly string[]; env?: NodeJS.ProcessEnv; overrides?: Partial<ConfigOf<S>>; strict?: boolean } = {},
): ConfigOf<S> {
  const { flags, positional } = parseArgs(source.argv ?? process.argv.slice(2));
  const env = source.env ?? process.env;
  const out: Record<string, unknown> = {};
  if (source.strict) {
    // Unknown flags first: a typo is named even when a required setting is missing too.
    const known = new Set(Object.entries(schema).map(([key, spec]) => flagOf(key, spec)));
    for (const f of flags.keys()) {
      if (!known.has(f)) throw new ConfigError(`unknown flag --${f} (run with --help for the flags this app takes)`);
    }
    if (positional.length > 0) throw new ConfigError(`unexpected argument '${positional[0]}' (settings are flags: run with --help)`);
  }
  for (const [key, spec] of Object.entries(schema)) {
    const flag = flagOf(key, spec);
    const envName = envOf(flag);
    const override = source.overrides?.[key as keyof S];
    if (override !== undefined) {
      out[key] = override;
      continue;
    }
    const where = flags.has(flag) ? `--${flag}` : `${envName}`;
    const raws = flags.get(flag) ?? (env[envName] !== undefined ? [env[envName] as string] : undefined);
    if (raws !== undefined) out[key] = parseValue(spec, raws, `${where} (flag --${flag}, env ${envName})`);
    else if (spec.default !== undefined) out[key] = spec.type === 'list' ? [...(spec.default as readonly string[])] : spec.default;
    else if (spec.required) {
      throw new ConfigError(`missing setting: pass --${flag} or set ${envName} (${spec.description})`);
    }
  }
  return out as ConfigOf<S>;
}

/** One line per option, for `--help` texts: `  --kv-cache-gib / LLM_KV_CACHE_GIB  what (default 0.5)`. */
export function describeConfig(schema: ConfigSchema): string {
  const rows = Object.entries(schema).map(([key, s]) => {
    const flag = flagOf(key, s);
    const value = s.type === 'bool' ? '' : s.type === 'list' ? ' V[,V]' : ' V';
    const def =
      s.default !== undefined && !(s.type === 'list' && (s.default as readonly string[]).length === 0) && s.default !== ''
        ? ` (default ${s.type === 'list' ? (s.default as readonly string[]).join(',') : String(s.default)})`
        : s.required
          ? ' (required)'
          : '';
    return [`  --${flag}${value}`, envOf(flag), `${s.description}${def}`] as const;
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`).join('\n');
}
