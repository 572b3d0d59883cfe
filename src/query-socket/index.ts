export { askOverSocket, eraseOverSocket, querySocketPath, queryOverSocket, serveQueries, type EraseHandler } from './query-socket.js';
