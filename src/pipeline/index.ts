export { Pipeline, duckDbPath, type PipelineOptions } from './pipeline.js';
export { querySocketPath, queryOverSocket, serveQueries } from './query-socket.js';
