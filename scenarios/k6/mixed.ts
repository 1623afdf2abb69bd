import profile from '../profiles/mixed.ts';
import { createScript } from './script.ts';

// k6 run dist/k6/mixed.js  (see scenarios/README.md)
const script = createScript(profile);
export const options = script.options;
export const setup = script.setup;
export const teardown = script.teardown;
export const handleSummary = script.handleSummary;
export default script.run;
