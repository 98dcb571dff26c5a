/**
 * The pipeline end to end on the shared cluster as the base config has it (Kerberos off, the
 * default): the demo, then the faults under a running ingest, every row counted once
 * (pipeline-scenarios.ts).
 */
import { CONFIG } from './harness';
import { pipelineScenarios } from './pipeline-scenarios';

// At least 1,000,000 rows to train on after the random 80/20 split: 1.3M leaves ~40,000 rows
// of margin (the split's own spread is ~450 rows, so 1.25M was a coin flip).
pipelineScenarios({ config: CONFIG, events: 1_300_000, minTrainRows: 1_000_000 });
