import type { Command } from 'commander';
import { registerTrain } from './train';
import { registerModel } from './model';
import { registerServe } from './serve';
import { registerTokenize } from './tokenize';
import { registerAgent } from './agent';
import { registerEval } from './eval';
import { registerMcp } from './mcp';
import { registerRag } from './rag';
import { registerQuantize } from './quantize';
import { registerBench } from './bench';

/** A command module adds one subcommand (or a few related ones) to the program. */
export type RegisterCommand = (program: Command) => void;

/** Every subcommand of `llm`, in the order `llm --help` lists them. */
export const commands: RegisterCommand[] = [registerServe, registerTrain, registerModel, registerQuantize, registerBench, registerTokenize, registerEval, registerAgent, registerMcp, registerRag];
