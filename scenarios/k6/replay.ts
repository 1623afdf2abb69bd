import profile from '../profiles/replay.ts';
import { createScript } from './script.ts';

// CHATSTORM_REPLAY=/abs/path/<room id>.jsonl k6 run dist/k6/replay.js  (see scenarios/README.md)
const script = createScript(profile);
export const options = script.options;
export const setup = script.setup;
export const teardown = script.teardown;
export const handleSummary = script.handleSummary;
export default script.run;
