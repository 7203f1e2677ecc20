/*
 * The tool registry: each tool is a name, a description, an argument schema (JSON Schema or a
 * zod schema) and a function. Schemas are compiled once when a tool is added (ajv, strict mode),
 * so an invalid schema fails at registration with the tool's name and ajv's reason, never at the
 * first call. zod schemas are offered to the model as the JSON Schema zod generates, and
 * validated with zod itself.
 *
 * What it is not: the execution policy (execute.ts: parsing, validation, guardrails, errors
 * back to the model) or the agent loop.
 * Reference: OpenAI function tools (`parameters` is a JSON Schema object); ajv; zod 4.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { z } from 'zod';
import type { ToolSpec } from '../client/types';

export interface ToolContext {
  signal: AbortSignal;
  /** The id of the call being answered. */
  callId: string;
}

export interface Tool<A = any> {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object, or a zod object schema. */
  parameters: Record<string, unknown> | z.ZodType<A>;
  /** Changes something outside the conversation (guardrails ask for approval first). */
  sideEffects?: boolean;
  /** Compile the JSON Schema in ajv's strict mode (default true; schemas from MCP servers are compiled leniently). */
  strictSchema?: boolean;
  /** Time limit of one call (default 30 s). */
  timeoutMs?: number;
  run(args: A, ctx: ToolContext): unknown | Promise<unknown>;
}

export class ToolSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolSchemaError';
  }
}

/** Validates arguments: null when valid, else the reasons in one line. */
export type ArgumentValidator = (args: unknown) => string | null;

interface Entry {
  tool: Tool;
  spec: ToolSpec;
  validate: ArgumentValidator;
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export class ToolRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly ajv = new Ajv({ strict: true, allErrors: true, strictRequired: false });
  private readonly lenient = new Ajv({ strict: false, allErrors: true });

  constructor(tools: Tool[] = []) {
    for (const t of tools) this.add(t);
  }

  add(tool: Tool): this {
    if (!NAME.test(tool.name)) throw new ToolSchemaError(`tool name '${tool.name}' must be 1-64 letters, digits, '_' or '-'`);
    if (this.entries.has(tool.name)) throw new ToolSchemaError(`tool '${tool.name}' is registered twice`);
    if (typeof tool.run !== 'function') throw new ToolSchemaError(`tool '${tool.name}' has no run function`);
    const { schema, validate } = tool.parameters instanceof z.ZodType ? this.fromZod(tool.name, tool.parameters) : this.fromJsonSchema(tool.name, tool.parameters, tool.strictSchema !== false ? this.ajv : this.lenient);
    const spec: ToolSpec = { type: 'function', function: { name: tool.name, description: tool.description ?? '', parameters: schema } };
    this.entries.set(tool.name, { tool, spec, validate });
    return this;
  }

  get(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The `tools` list for a request, optionally only the named tools. */
  specs(only?: readonly string[]): ToolSpec[] {
    return [...this.entries.values()].filter((e) => !only || only.includes(e.tool.name)).map((e) => e.spec);
  }

  private fromJsonSchema(name: string, schema: Record<string, unknown>, ajv: Ajv): { schema: Record<string, unknown>; validate: ArgumentValidator } {
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new ToolSchemaError(`tool '${name}': parameters must be a JSON Schema object`);
    if (schema.type !== 'object') throw new ToolSchemaError(`tool '${name}': parameters must be a JSON Schema with "type": "object" (tool arguments are an object), got ${JSON.stringify(schema.type)}`);
    let fn: ValidateFunction;
    try {
      fn = ajv.compile(schema);
    } catch (err) {
      throw new ToolSchemaError(`tool '${name}': invalid parameters schema: ${(err as Error).message}`);
    }
    return { schema, validate: (args) => (fn(args) ? null : ajv.errorsText(fn.errors, { dataVar: 'arguments' })) };
  }

  private fromZod(name: string, schema: z.ZodType): { schema: Record<string, unknown>; validate: ArgumentValidator } {
    let json: Record<string, unknown>;
    try {
      json = z.toJSONSchema(schema) as Record<string, unknown>;
    } catch (err) {
      throw new ToolSchemaError(`tool '${name}': its zod schema has no JSON Schema form: ${(err as Error).message}`);
    }
    if (json.type !== 'object') throw new ToolSchemaError(`tool '${name}': parameters must be a zod object schema`);
    delete json.$schema;
    return {
      schema: json,
      validate: (args) => {
        const r = schema.safeParse(args);
        return r.success ? null : r.error.issues.map((i) => `arguments${i.path.map((p) => `/${String(p)}`).join('')} ${i.message}`).join(', ');
      },
    };
  }
}
