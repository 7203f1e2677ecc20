export { buildProgram } from './program';
export { CliError } from './errors';
