export { Pipeline, type PipelineOptions } from './pipeline.js';
