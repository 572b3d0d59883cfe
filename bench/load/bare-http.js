// The HTTP ceiling of this machine: a bare node:http server that reads the body, parses
// the JSON and answers 202, nothing else. Prints {"msg":"listening","url":...}.
import { createServer } from 'node:http';

const ACCEPTED = JSON.stringify({ status: 'accepted' });

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(ACCEPTED) });
    res.end(ACCEPTED);
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}` }));
  console.log(JSON.stringify({ msg: 'callstream is ready' })); // same readiness line as callstream, for the harness
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
