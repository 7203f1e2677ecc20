export { plainForward } from './plain-forward';
